"""A task's LoRA adapter on disk: saved for an engine to serve, checked, served for a block of calls, deleted.

The training side (solver/ttt.py) keeps the adapter in memory on the loaded model; an engine beside it (vLLM,
solver/vllm_backend.py) serves it from a directory. Everything about that directory lives here:

    save_adapter   the LoRA matrices only, as vLLM loads them (never the embeddings: with vocabulary
                   shrinking the engine serves a shrunk base model that already holds them)
    check_adapter  the modules an engine cannot serve as LoRA (full embedding / output-head weights)
    servable       check_adapter as an error naming the task, the directory and the way out
    on_disk        save, yield the directory, delete it after: one task's adapter round trip
    merged_model   the base model with an adapter folded in, for serving without LoRA

peft and transformers are imported only inside the functions that need them.
"""
from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Iterator

# Module names that hold the vocabulary: adapters training them carry full (V, d) matrices.
VOCAB_MODULES = ("embed_tokens", "lm_head", "wte", "embed_in", "embed_out", "output")


class AdapterError(ValueError):
    """An adapter vLLM cannot load as a LoRA; the message names the directory and the modules."""


def check_adapter(directory: str | Path) -> list[str]:
    """The adapter's modules vLLM cannot serve as LoRA (full embedding / output-head weights); [] if none.
    Both the config (modules_to_save, target_modules) and the saved weights are read: peft saves the full
    embeddings on its own when the vocabulary was resized (vocabulary shrinking), whatever the config says."""
    directory = Path(directory)
    path = directory / "adapter_config.json"
    if not path.is_file():
        raise AdapterError(f"{directory} has no adapter_config.json; expected a peft LoRA adapter directory")
    config = json.loads(path.read_text())
    named = list(config.get("modules_to_save") or [])
    targets = config.get("target_modules") or []
    named += [targets] if isinstance(targets, str) else list(targets)
    weights = directory / "adapter_model.safetensors"
    if weights.is_file():
        from safetensors import safe_open
        with safe_open(str(weights), "pt") as f:
            named += [k.rsplit(".", 1)[0] for k in f.keys() if "lora_" not in k]
    return sorted({m.split(".")[-1] for m in named if isinstance(m, str) and m.split(".")[-1] in VOCAB_MODULES})


def servable(task_id: str, directory: str | Path) -> Path:
    """`directory`, when an engine can serve it as a LoRA; else AdapterError naming the task and the way out."""
    problems = check_adapter(directory)
    if problems:
        raise AdapterError(f"task {task_id}: adapter {directory} trains {', '.join(problems)} in full; "
                           f"vLLM cannot load it as a LoRA. Train LoRA on the projections only, or serve "
                           f"merged_model(...) without LoRA")
    return Path(directory)


def save_adapter(model, directory: str | Path) -> Path:
    """Save a task's LoRA adapter as vLLM can load it: the LoRA matrices only. With vocabulary shrinking the
    engine must serve the shrunk base model (saved once with `model.base_model.save_pretrained`), which
    already holds the embeddings the adapter would otherwise carry."""
    model.save_pretrained(str(directory), save_embedding_layers=False)
    return Path(directory)


@contextlib.contextmanager
def on_disk(model, directory: str | Path) -> Iterator[Path | None]:
    """`model`'s adapter (a peft model; None: no adapter, the base model is served) saved to `directory`
    for the block inside, deleted after it, whatever happens inside. The engine checks it (`servable`)
    when it is handed the directory."""
    if model is None:
        yield None
        return
    try:
        yield save_adapter(model, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def merged_model(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """The base model with the adapter folded into its weights, saved to `out_dir` (served without LoRA)."""
    import transformers
    from peft import PeftModel
    base = transformers.AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out_dir = Path(out_dir)
    merged.save_pretrained(out_dir)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (Path(base_dir) / name).is_file():
            (out_dir / name).write_bytes((Path(base_dir) / name).read_bytes())
    return out_dir
