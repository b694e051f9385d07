#!/usr/bin/env bash
# The one prepared GPU check (issue 14), for a machine with one CUDA GPU and a 10-minute window: the kit's
# selfcheck on the NVARC shape (a random Qwen3-4B-shaped model with the kit's tokenizer, 16-token vocabulary
# after shrinking) in bf16 and in 4-bit, on vLLM too when it is installed, then bench/gpu.py on the NVARC
# shape (2k/4k/8k prompts, bf16 and 4-bit), a short `python -m solver finetune` on the same model (issue 17:
# tokens/s, MFU, memory) and, if time is left, the Llama 8B shape. Every raw log goes to
# bench/results/gpu_check_<GPU>_<time>/ with the commit and the commands.
#   bench/gpu_check.sh                 # after ./setup.sh (a CUDA torch) and pip install bitsandbytes
# Each step has its own time limit, so that one hung step cannot take the others' time, and no step runs past
# TOTAL seconds (default 570) from the start: the whole check fits the device tool's 10-minute command.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr -c 'A-Za-z0-9\n' '_')
out=bench/results/gpu_check_${gpu}_$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
model=$(mktemp -d)/nvarc-4b
TOTAL=${TOTAL:-570}
step() {  # step NAME SECONDS COMMAND...: runs it with a limit, its output to $out/NAME.log
  local name=$1 limit=$2; shift 2
  local left=$((TOTAL - SECONDS))
  if [ "$left" -lt 30 ]; then echo "$name: skipped, $left s left of $TOTAL" | tee -a "$out/summary.txt"; return; fi
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  { echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"; echo "command: $*"; } > "$out/$name.log"
  local start=$SECONDS
  timeout "$limit" "$@" >> "$out/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - start)) s (log $out/$name.log)" | tee -a "$out/summary.txt"
}
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
step versions 60 "$PYTHON" -c "import torch, transformers, importlib.metadata as m; print(torch.__version__, torch.version.cuda, transformers.__version__); [print(d, m.version(d)) for d in ('bitsandbytes', 'peft') ]"
step write-model 120 "$PYTHON" bench/gpu.py --sizes nvarc-4b --write-model "$model"
step selfcheck-bf16 120 "$PYTHON" -m solver selfcheck --config kaggle --model "$model" --set model.load_in_4bit=false --set model.unsloth=false --out "$out/selfcheck-bf16.json"
step selfcheck-4bit 120 "$PYTHON" -m solver selfcheck --config kaggle --model "$model" --set model.unsloth=false --out "$out/selfcheck-4bit.json"
if "$PYTHON" -c "import vllm" 2>/dev/null; then
  step selfcheck-vllm 180 "$PYTHON" -m solver selfcheck --config kaggle --model "$model" --set model.load_in_4bit=false --set model.unsloth=false --set 'model.backend="vllm"' --out "$out/selfcheck-vllm.json"
fi
step bench-nvarc 240 "$PYTHON" bench/gpu.py --sizes nvarc-4b --precisions bf16,4bit --out-dir "$out"
step finetune 120 "$PYTHON" -m solver finetune --base "$model" --format kit --data synth:all --out "$model-ft" --steps 20 --preset kaggle --set finetune.batch_size=8 --set finetune.eval_tasks=0 --set finetune.save_steps=1000 --no-progress
step finetune-mfu 60 "$PYTHON" bench/gpu.py --finetune-meta "$model-ft/finetune.json"
step bench-8b 150 "$PYTHON" bench/gpu.py --sizes 8b --precisions bf16 --prompts 2048 --out-dir "$out"
cat "$out/summary.txt"
