#!/usr/bin/env bash
# Creates .venv with the kit's dependencies. torch goes in first, chosen for this machine, so that nothing
# installed after it can pull a different build:
#   - torch already importable in .venv: kept as it is;
#   - an NVIDIA GPU (nvidia-smi lists one): torch from PyPI, whose Linux wheels are CUDA builds;
#   - otherwise: the CPU build of torch $TORCH_VERSION (default 2.13.0) from the PyTorch CPU index, or from
#     whatever local wheel source pip is configured with when that index cannot be reached.
# On Kaggle, do not run this: the notebook installs from attached wheels into the image's Python.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip "$@"; }
if .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: keeping torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found, installing a CUDA build of torch"
  pip install -q "torch>=2.4,<3"
else
  echo "setup: no GPU, installing the CPU build of torch $TORCH_VERSION"
  # Ask the PyTorch CPU index only when it answers: where it cannot be reached, pip would retry it for every
  # one of torch's dependencies (minutes) before taking them from the sources it is configured with.
  if .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=10)" \
      "$TORCH_CPU_INDEX" 2>/dev/null; then
    pip install -q "torch==$TORCH_VERSION" --extra-index-url "$TORCH_CPU_INDEX"
  else
    echo "setup: $TORCH_CPU_INDEX cannot be reached; torch from pip's configured sources"
    pip install -q "torch==$TORCH_VERSION"
  fi
fi
pip install -q -r requirements-dev.txt
echo "setup: done. Python: .venv/bin/python"
