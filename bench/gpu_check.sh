#!/usr/bin/env bash
# The one prepared GPU check (issues 14 and 26), for a bare machine with one CUDA GPU (the device tool's image:
# python3 with torch, transformers, peft, accelerate, numba; no venv, no vLLM, no bitsandbytes) and a 10-minute
# command. One random NVARC-shape model (Qwen3-4B architecture, the kit's tokenizer) is written once and used by
# every step: the kit's selfcheck on it (bf16; 4-bit and vLLM when importable), bench/gpu.py on it (TTT
# tokens/s and MFU against the measured and the rated peak, decode, DFS, rescoring, peak memory per phase), a
# short `python -m solver finetune` with its MFU, and the memory plan (`python -m solver plan`, when the kit has
# it) against the measured peaks (bench/plan_check.py).
#
#   bash bench/gpu_check.sh              # on the GPU machine
#   bash bench/gpu_check.sh --dry-run    # the same steps on the CPU, tiny shapes, under 3 minutes
#
# Python: $PYTHON, else .venv/bin/python when it exists, else python3. Output: with $OUT set (the device tool
# brings back only $OUT), every log and JSON goes to a work folder whose tarball $OUT/gpu_check_<GPU>.tar.gz and
# $OUT/summary.txt are rewritten after every step, so that a run stopped half-way still brings back what it
# measured. Without $OUT: the folder bench/results/gpu_check_<GPU>_<time>/ (a --dry-run without $OUT: a temporary
# folder); the last line says where. Each step's JSON is written as soon as that step ends (bench/gpu.py
# rewrites its JSON after every measured row).
#
# Steps and their time limits (seconds). A step runs under `timeout` with its own limit, cut to what is left of
# TOTAL (480 s, default); the limits add up to 480, so the whole check fits the device tool's 10-minute command
# with the machine's start and the transfers. A step that cannot run here is skipped, and the summary says why.
#   step            limit  what
#   env                20  versions of python, torch, transformers, peft, bitsandbytes, vllm; nvidia-smi
#   write-model        60  bench/gpu.py --write-model: the random model, written once
#   plan               15  python -m solver plan --config kaggle --shape nvarc-4b --gpu <this GPU> --json
#                          (bf16; 4-bit too with bitsandbytes); skipped without the plan command
#   selfcheck-bf16     60  python -m solver selfcheck --config kaggle, 16-bit, transformers backend
#   selfcheck-4bit     40  the same in 4-bit NF4; skipped without bitsandbytes
#   selfcheck-vllm     60  the same on the vLLM backend; skipped without vllm
#   bench             150  bench/gpu.py --model: prompts of 2048 and 8192 tokens, bf16 (and 4-bit with bnb)
#   finetune           50  python -m solver finetune, 20 LoRA steps on synthetic tasks
#   finetune-mfu       15  bench/gpu.py --finetune-meta: its tokens/s and MFU
#   plan-check         10  bench/plan_check.py: predicted vs measured peak bytes per phase
#                     ---
#                     480
set -uo pipefail
cd "$(dirname "$0")/.."
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  "") ;;
  *) echo "usage: bash bench/gpu_check.sh [--dry-run]" >&2; exit 2 ;;
esac
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
TOTAL=${TOTAL:-480}
stamp=$(date -u +%Y%m%d-%H%M%S)
if [ "$DRY" = 1 ]; then
  gpu=cpu-dry-run; plan_gpu=L4; shape=smoke-qwen3; prompts=32,64; device_set=(--set 'model.device="cpu"'); ft_steps=4
  plan_set=(--set model.max_length=64)  # one plan at the dry run's longest prompt, so plan-check pairs its rows
  bench_mode=(--smoke)
else
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9\n' '_')
  gpu=${gpu:-no_gpu}
  case "$gpu" in  # the names `solver plan --gpu` takes
    *H200*) plan_gpu=H200 ;; *H100*) plan_gpu=H100 ;; *A100*) plan_gpu=A100 ;; *L4*) plan_gpu=L4 ;;
    *T4*) plan_gpu=T4 ;; *) plan_gpu="" ;;
  esac
  shape=nvarc-4b; prompts=2048,8192; device_set=(); bench_mode=(); ft_steps=20
  plan_set=()  # the kaggle preset's 8k context: plans at 2k, 4k and 8k tokens
fi
name=gpu_check_${gpu}_${stamp}
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  work=$(mktemp -d)/$name
elif [ "$DRY" = 1 ]; then
  work=$(mktemp -d)/$name
else
  work=bench/results/$name
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
scratch=$(mktemp -d)  # the model and the finetune output: large, never packed
# With $OUT the work folder lives on only in the tarball.
trap 'rm -rf "$scratch"; [ -z "${OUT:-}" ] || rm -rf "$(dirname "$work")"' EXIT
model=$scratch/model
summary=$work/summary.txt
importable() { "$PYTHON" -c "import $1" > /dev/null 2>&1; }
has_bnb=0; importable bitsandbytes && has_bnb=1
has_vllm=0; importable vllm && has_vllm=1
has_plan=0; "$PYTHON" -m solver plan --help > /dev/null 2>&1 && has_plan=1
precisions=bf16; [ "$has_bnb" = 1 ] && precisions=bf16,4bit
{
  echo "# bench/gpu_check.sh$([ "$DRY" = 1 ] && echo ' --dry-run') on $gpu, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if commit=$(git rev-parse HEAD 2>/dev/null); then
    echo "# commit $commit$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  else
    echo "# commit unknown (no git checkout here)"
  fi
  echo "# python: $PYTHON ($("$PYTHON" -V 2>&1)); bitsandbytes $([ "$has_bnb" = 1 ] && echo importable || echo absent), vllm $([ "$has_vllm" = 1 ] && echo importable || echo absent), solver plan $([ "$has_plan" = 1 ] && echo present || echo absent)"
  echo "# step: exit status (124: stopped at its limit) and seconds, or why it was skipped"
} > "$summary"

pack() {  # the work folder into $OUT: one tarball and the summary, rewritten after every step
  [ -n "${OUT:-}" ] || return 0
  tar -czf "$OUT/.$name.tar.gz" -C "$(dirname "$work")" "$name" && mv "$OUT/.$name.tar.gz" "$OUT/$name.tar.gz"
  cp "$summary" "$OUT/summary.txt"
}

skip() {  # skip NAME WHY
  printf '%-15s skipped: %s\n' "$1" "$2" | tee -a "$summary"
  pack
}

step() {  # step NAME SECONDS COMMAND...: runs it under its limit, its output to $work/NAME.log
  local what=$1 limit=$2; shift 2  # not `name`: pack() reads the global one
  local left=$((TOTAL - SECONDS))
  if [ "$left" -lt 5 ]; then skip "$what" "only $left s left of $TOTAL"; return; fi
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  { echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"; echo "command: $*"; echo "limit: $limit s"; } > "$work/$what.log"
  local start=$SECONDS
  PYTHONUNBUFFERED=1 timeout "$limit" "$@" >> "$work/$what.log" 2>&1
  local rc=$?
  printf '%-15s exit %3d in %3d s (limit %d s)\n' "$what" "$rc" "$((SECONDS - start))" "$limit" | tee -a "$summary"
  pack
}

step env 20 "$PYTHON" -c "
import importlib.metadata as m, sys, torch
print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda,
      'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')
for d in ('transformers', 'peft', 'accelerate', 'numba', 'bitsandbytes', 'vllm', 'unsloth'):
    try:
        print(d, m.version(d))
    except m.PackageNotFoundError:
        print(d, 'absent')
"
nvidia-smi > "$work/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" >> "$work/nvidia-smi.txt"
step write-model 60 "$PYTHON" bench/gpu.py --sizes "$shape" --write-model "$model"

plan_files=()
if [ "$has_plan" = 0 ]; then
  skip plan "this kit has no \`python -m solver plan\`"
elif [ -z "$plan_gpu" ]; then
  skip plan "the plan knows no GPU named $gpu"
else
  # The bench's own shape at its prompt lengths, so that plan-check pairs plan and measurement phase by phase.
  # Exit 1: the plan says the preset does not fit this GPU; its JSON is compared all the same.
  plan_cmd=("$PYTHON" -m solver plan --config kaggle --shape "$shape" --gpu "$plan_gpu" "${plan_set[@]}")
  plan_args=(--json "$work/plan-bf16.json" --set model.load_in_4bit=false)
  if [ "$has_bnb" = 1 ]; then  # both plans in one step: the preset's 4-bit, then bf16 ($0: the work folder)
    step plan 15 bash -c '"$@" --json "$0/plan-4bit.json" && "$@" --json "$0/plan-bf16.json" --set model.load_in_4bit=false' "$work" "${plan_cmd[@]}"
  else
    step plan 15 "${plan_cmd[@]}" "${plan_args[@]}"
  fi
  for f in "$work"/plan-*.json; do [ -f "$f" ] && plan_files+=(--plan "$f"); done
fi

selfcheck=("$PYTHON" -m solver selfcheck --config kaggle --model "$model" --set model.unsloth=false "${device_set[@]}")
step selfcheck-bf16 60 "${selfcheck[@]}" --set model.load_in_4bit=false --out "$work/selfcheck-bf16.json"
if [ "$has_bnb" = 1 ]; then
  step selfcheck-4bit 40 "${selfcheck[@]}" --set model.load_in_4bit=true --out "$work/selfcheck-4bit.json"
else
  skip selfcheck-4bit "bitsandbytes is not importable with $PYTHON"
fi
if [ "$has_vllm" = 1 ]; then
  step selfcheck-vllm 60 "${selfcheck[@]}" --set model.load_in_4bit=false --set 'model.backend="vllm"' --out "$work/selfcheck-vllm.json"
else
  skip selfcheck-vllm "vllm is not importable with $PYTHON"
fi

mkdir -p "$work/bench"
step bench 150 "$PYTHON" bench/gpu.py "${bench_mode[@]}" --sizes "$shape" --model "$model" --precisions "$precisions" --prompts "$prompts" --out-dir "$work/bench"
step finetune 50 "$PYTHON" -m solver finetune --base "$model" --format kit --data synth:all --out "$scratch/finetuned" --steps "$ft_steps" --preset kaggle --set finetune.batch_size=8 --set finetune.eval_tasks=0 --set finetune.save_steps=1000 --no-progress
if [ -f "$scratch/finetuned/finetune.json" ]; then
  cp "$scratch/finetuned/finetune.json" "$work/finetune.json"
  step finetune-mfu 15 "$PYTHON" bench/gpu.py --finetune-meta "$work/finetune.json"
else
  skip finetune-mfu "the finetune step wrote no finetune.json"
fi
bench_json=$(ls "$work"/bench/gpu_*.json 2>/dev/null | head -1)
if [ "${#plan_files[@]}" -eq 0 ]; then
  skip plan-check "no plan JSON (the plan step was skipped or failed)"
elif [ -z "$bench_json" ]; then
  skip plan-check "no bench JSON"
else
  step plan-check 10 "$PYTHON" bench/plan_check.py "${plan_files[@]}" --bench "$bench_json" --json "$work/plan_check.json"
fi
echo "total: $SECONDS s of $TOTAL" | tee -a "$summary"
pack
if [ -n "${OUT:-}" ]; then
  echo "gpu_check: logs packed into $OUT/$name.tar.gz and $OUT/summary.txt"
else
  echo "gpu_check: logs in $work$([ "$DRY" = 1 ] && echo ' (a temporary folder: --dry-run without $OUT)')"
fi
