#!/usr/bin/env bash
# Runs a benchmark and writes its output to a results file headed by the exact command, the commit and the
# machine's load, as every file in bench/results/ must be:
#   bench/stamp.sh bench/results/NAME.txt python bench/SCRIPT.py ARGS...
set -uo pipefail
out=$1; shift
cd "$(dirname "$0")/.."
{
  echo "# command: $*"
  echo "# commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- solver configs bench/*.py || echo ' (with uncommitted changes)')"
  echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start, $(date -u +%Y-%m-%dT%H:%MZ)"
} > "$out"
"$@" >> "$out" 2>&1
echo "# exit $? at $(date -u +%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out"
