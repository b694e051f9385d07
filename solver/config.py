"""The one configuration object, its sections, and presets loaded from configs/*.toml.

A preset file only lists what differs from the defaults below; `--set section.key=value` on the command line
overrides any field. Defaults are the CPU dry-run configuration (no model needed).
"""
from __future__ import annotations

import dataclasses
import json
try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "cpu"


class ConfigError(ValueError):
    pass


@dataclass
class BudgetConfig:
    total_seconds: float | None = None  # wall clock for the whole run; None = no limit
    safety_seconds: float = 10.0        # kept back from the total for killing late workers and the final writes
    max_task_fraction: float = 4.0      # a task may take at most this many equal shares of what remains
    # A stage's deadline is this many times its task's share. 1: stages fill the time they are given (the
    # neural stage trains for a fraction of it and samples until it), so any grace would simply be spent and
    # taken from the tasks after it. Above 1 only for stages that stop on their own well before a deadline.
    grace_factor: float = 1.0
    # A stage still running this long after its deadline is killed with its worker. Keep it well under
    # safety_seconds: the run's last tasks are killed at (total - safety + kill_grace) at the latest. On a
    # GPU, above the longest generate call: a killed model worker has to load its model again.
    kill_grace_seconds: float = 3.0
    # The cost model the degrade ladder plans with: seconds on this run's hardware for a task of 1000 cells
    # (cost grows with the task's size). `python -m solver tune` fits these from a dry run's journal.
    model_task_seconds: float = 2.0  # fixed cost of a task on a model worker (adapter reset, tokenising)
    ttt_step_seconds: float = 0.5    # one test-time-training optimiser step
    view_seconds: float = 1.0        # one greedy sampling pass over one test input in one view
    dfs_factor: float = 4.0          # a DFS pass costs this many greedy passes
    rescore_view_seconds: float = 0.25  # rescoring one test input's grids under one view (one prompt pass)
    min_ttt_steps: int = 8           # fewer steps than this are not worth training at all: TTT goes off
    min_dsl_seconds: float = 0.5     # a program search shorter than this finds nothing: the DSL goes off


@dataclass
class BaselineConfig:
    enabled: bool = True


@dataclass
class DslConfig:
    enabled: bool = True
    seconds_per_task: float = 10.0  # CPU seconds a task's program search may use (time.process_time)
    max_depth: int = 3              # ops composed before a learned final step
    # Distinct states at most. The search makes 1-3 thousand states per CPU-second, so at 10 CPU-s the time
    # budget usually binds first; a node budget that binds first gives the same programs on any machine.
    max_nodes: int = 40_000
    test_variants: int = 2          # states kept per train-input result that differ on the test inputs
    memory_mb: int = 2048           # per task: stored states stop at a share of it; also the worker's limit
    state_memory_fraction: float = 0.5  # the rest is headroom for numpy temporaries and the interpreter
    workers: int = 0                # processes for solve_many (bench/dsl.py); 0 = every core. A run uses run.cpu_workers
    local_rule_depth: int = 1       # nodes up to this depth also try learned neighbourhood rules (costly)
    # Shares of the CPU budget: the search runs until search_fraction, the object-feature local rules of
    # depth-1 nodes until rules_fraction, edit composition until the end.
    search_fraction: float = 0.8
    rules_fraction: float = 0.95
    cost_slack: float = 1.0         # after a fit, keep exploring this much costlier for alternatives
    max_edits: int = 4000           # pieces kept for composition (solver/dsl/pieces.py)
    max_compose: int = 6            # pieces one composed program may use
    list_depth: int = 1             # nodes shallower than this also get list children (solver/dsl/list_expand.py)
    compose_cost: float = 1.0       # extra cost of a composed program over the sum of its edits
    shape_penalty: float = 1.0      # extra cost of a test output whose shape contradicts the train pairs
    partial: bool = True            # offer the best non-fitting program when nothing fits (score < 1)
    # A second search on the task seen under this symmetry (a D8 name of solver/augment.py, "" for none),
    # when the first finds no program: ops that read rows, or one direction, then get the columns, or the
    # other. The first search gets the budget but second_pass_share; the second, what the first leaves.
    # 0 by measurement: reserving 0.3 lost 3 ARC-AGI-2 training tasks the first search solved late (depth 2)
    # and gained none (bench/results/dsl_arc2_mech_share30_compare.txt).
    second_pass: str = "transpose"
    second_pass_share: float = 0.0
    roles: bool = True              # also fit local rules on pairs with their free colours renamed by rank
    max_predictions: int = 50       # fitting programs' predictions an Outcome keeps for benchmarks (coverage)
    # The op catalogues searched (solver/dsl/catalogue.py): the general basis, and the scene ops written for
    # one task that fail the admission rule (bench/op_usage.py). Scene ops are tried only near the root: as
    # one of the first scene_depth steps of a program (1: only on the task's input itself).
    catalogues: list[str] = field(default_factory=lambda: list(CATALOGUES))
    scene_depth: int = 1
    learned_costs: bool = True      # op costs from solver/dsl/costs.json (fit_costs.py); false: the hand-set ones
    # Op families that share work on a grid (objects found once, a grid split once) evaluated together,
    # and the background read once a grid (solver/dsl/batches.py); the same results either way, faster on.
    batch_ops: bool = True
    # The deep search (solver/dsl/deep.py): every program of up to deep_depth general ops that have numba
    # kernels, with a colour map as the final step, before the main search (0: off; max_depth bounds it
    # too). It stops at deep_share of the CPU budget (depth 3 over the ~320 kernel ops a task had then took
    # 1.5 CPU-s a task on average, bench/results/dsl_depth.txt) and keeps its states in deep_memory_fraction of
    # memory_mb. deep_max_checked > 0 also stops it after that many programs checked (about a million a
    # CPU-second): like max_nodes, a count that binds before the clock gives the same programs on any machine.
    deep_depth: int = 3
    deep_share: float = 0.3
    deep_memory_fraction: float = 0.15
    deep_max_checked: int = 0


AUGMENT_KINDS = ("geometry", "colors", "demo_order")
CATALOGUES = ("general", "scenes")
# The 8 symmetries of the square, in the order of solver/augment.py's D8 index (it imports them from here).
D8_NAMES = ("identity", "rot90", "rot180", "rot270", "transpose", "flip_ud", "anti_transpose", "flip_lr")
# Fields that take one of a few names. The modules that act on them import these, so each name is written
# once, and load_config refuses anything else: a typo stops the run before it starts, instead of failing
# task by task in a worker (or, for the vote, silently falling back to another one).
DEVICES = ("auto", "cuda", "cpu")
BACKENDS = ("transformers", "vllm")
TTT_SCOPES = ("task", "shared")
SAMPLE_METHODS = ("greedy", "dfs")
VOTES = ("hierarchical", "flat", "weighted")
MERGES = ("fitting-first", "priority", "score")
# The format profiles (solver/formats/profiles.py PROFILES) and the selection rules (solver/rules.py RULES);
# "auto": the format is read from the model directory (solver/formats/detect.py).
FORMATS = ("auto", "kit", "nvarc", "architects", "marc")
RESCORE_RULES = ("mean-votes", "kgmon", "nll-sum", "probmul")
TTT_DATA = ("leave-out", "all-demos")
FINETUNE_METHODS = ("auto", "full", "lora")
# auto: the outputs the format's family trained on (solver/formats Profile.mask_first_output).
LOSS_ON = ("auto", "outputs", "outputs-but-first", "test")
CHOICES = {"model.device": DEVICES, "model.backend": BACKENDS, "ttt.scope": TTT_SCOPES,
           "sample.method": SAMPLE_METHODS, "select.vote": VOTES, "select.merge": MERGES,
           "model.format": FORMATS, "select.rescore_rule": RESCORE_RULES, "ttt.data": TTT_DATA,
           "finetune.method": FINETUNE_METHODS, "finetune.loss_on": LOSS_ON,
           "dsl.second_pass": ("",) + D8_NAMES[1:]}
LIST_CHOICES = {"ttt.augment": AUGMENT_KINDS, "sample.augment": AUGMENT_KINDS, "rescore.augment": AUGMENT_KINDS,
                "finetune.augment": AUGMENT_KINDS, "finetune.eval_augment": AUGMENT_KINDS,
                "dsl.catalogues": CATALOGUES}


@dataclass
class ModelConfig:
    path: str = ""  # a local Hugging Face model directory; empty turns the neural stages off
    # The format the model was trained on, which every prompt and answer follows (solver/formats/): auto
    # reads it from the model directory (NVARC's and the ARChitects' vocabularies, the kit's own marker);
    # kit | nvarc | architects | marc names it (marc must be named: a Llama-3 chat model looks like any other).
    format: str = "auto"
    # False: the model stage skips the task. The degrade ladder sets it in one task's plan when not even one
    # sampling pass fits that task's share of the time; set in a config, the model loads but never runs.
    enabled: bool = True
    device: str = "auto"  # auto (CUDA when present) | cuda | cpu
    # Tokens of prompt + answer. A task longer than this loses demonstrations (never its test input).
    max_length: int = 8192
    # NF4 weights through bitsandbytes (QLoRA when TTT is on); on the CPU too (slow: checks, tests)
    load_in_4bit: bool = False
    # Load through unsloth's FastLanguageModel when it is installed (on the CPU it runs on transformers + peft)
    unsloth: bool = True
    # Keep only the rows of the embeddings and the output head that ARC symbols use (as the ARChitects do):
    # smaller logits and optimizer state, and the model can only ever emit an ARC symbol. A checkpoint that
    # ships a cut vocabulary (nvarc, architects) is never cut again, and a text format (marc) is never cut.
    shrink_vocab: bool = True
    # Where sampling and rescoring run; test-time training always runs on the loaded model.
    #   transformers  the training model itself: greedy decoding, exact depth-first search
    #   vllm          a vLLM engine beside it that serves each task's adapter as a LoRA (paged batching,
    #                 prefix caching); needs vllm installed and a GPU. dfs then samples above the threshold.
    backend: str = "transformers"
    # vllm: the share of the GPU's memory the engine takes (weights, KV cache), asked for after the training
    # model has loaded: it must fit in what that model leaves free.
    vllm_memory_fraction: float = 0.45
    # vllm with shrink_vocab: where the serving copy of the model (its vocabulary shrunk) is written, once
    # per machine; "" = the system's temporary directory.
    serving_dir: str = ""

    @property
    def active(self) -> bool:
        """Whether the model stage runs: a model is attached and not turned off (for this task)."""
        return bool(self.path) and self.enabled


@dataclass
class TTTConfig:
    enabled: bool = True
    steps: int = 32  # optimiser steps per task; the budget may lower it per task
    batch_size: int = 4        # sequences per optimiser step
    micro_batch_size: int = 0  # sequences per forward pass (gradient accumulation); 0 = the whole batch
    # Tokens of a training sequence at most (0: the model's context); demonstrations are dropped to fit, by
    # the format's rule. The out-of-memory retry lowers it when one sequence per pass is still too much.
    max_length: int = 0
    lr: float = 1e-4
    # Each optimiser step's gradient is clipped to this norm (0 = not clipped): NVARC and the ARChitects
    # clip at 1.0, as transformers' Trainer does by default.
    max_grad_norm: float = 1.0
    # Learning rate of the embeddings and the output head when target_modules trains them (the ARChitects:
    # 1e-5 beside 1e-4); 0 = lr.
    embedding_lr: float = 0.0
    rank: int = 32
    alpha: float = 32.0
    dropout: float = 0.0
    rslora: bool = False  # alpha/sqrt(rank) scaling, which keeps the update size stable at high ranks
    target_modules: list[str] = field(default_factory=lambda: [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    # The training tasks: leave-out (MIT: each demonstration in turn is the query of a task made of the
    # others) or all-demos (NVARC, the ARChitects: the demonstrations themselves, every output a target).
    data: str = "leave-out"
    # Each training task is seen under this many views (the first is the task as given).
    augmentations: int = 8
    augment: list[str] = field(default_factory=lambda: list(AUGMENT_KINDS))
    # Below this many leave-one-out tasks (tasks with few demos), leave-two-out tasks top the set up.
    min_leave_out: int = 6
    # The first demonstration's output cannot be inferred from any context, so learning it only teaches
    # the model to guess; the ARChitects and MIT mask it, NVARC does not. None: the model format's rule.
    loss_skip_first: bool | None = None
    # Only the held-out pair's output carries loss, no demonstration output (the MIT paper's ablation).
    loss_test_only: bool = False
    time_fraction: float = 0.5  # share of the task's remaining time TTT may use; sampling gets the rest
    gradient_checkpointing: bool = True  # CUDA only: trade compute for the memory of long ARC sequences
    # task: a fresh adapter per task, discarded after it. shared: one adapter is first trained on every
    # task's leave-out data (shared_steps steps, at most shared_fraction of the run's time); per-task
    # training, when enabled, then starts from it.
    scope: str = "task"
    shared_steps: int = 0
    shared_fraction: float = 0.25


@dataclass
class SampleConfig:
    views: int = 8          # augmented views sampled per test input; the budget may lower it per task
    method: str = "greedy"  # greedy | dfs (every completion with probability >= min_prob, per view)
    batch_size: int = 8     # prompts per generate call
    augment: list[str] = field(default_factory=lambda: list(AUGMENT_KINDS))
    # dfs: at most 1/min_prob completions can pass, so 0.1 keeps the search (and the rescoring after it)
    # small; a lower threshold finds more second guesses at a cost that grows like 1/min_prob.
    min_prob: float = 0.1
    max_candidates: int = 16  # dfs, per view: binds only when min_prob is set below 1/16
    # dfs on the transformers backend: prompt tokens per forward pass (0: the whole prompt in one). The
    # out-of-memory retry sets it: a long prompt's activations are the search's peak beside its cache.
    prefill_chunk: int = 0


@dataclass
class RescoreConfig:
    """Product of experts (the ARChitects): each distinct predicted grid is scored by its log-likelihood
    under fresh augmented views of the task, and ranked by that with its vote count."""
    # Off by default so that a run measures what it names; the kaggle preset turns it on.
    enabled: bool = False
    views: int = 8  # one per D8 element, each with its own colour permutation and demo order
    augment: list[str] = field(default_factory=lambda: list(AUGMENT_KINDS))
    batch_size: int = 16  # answers scored per forward pass, all after one shared prompt
    # Memory the copies of the prompt's KV cache of a batch of answers and the batch's logits may take, MiB
    # (the engine measures the cache's bytes and the head's vocabulary). A long prompt gets smaller batches; where not even two copies fit (or with
    # batch_size 1), answers go one at a time on the prompt's own cache, cropped back after each: the memory
    # of rescoring is then one prompt's cache plus one answer, whatever the number of grids.
    cache_mb: float = 2048.0
    # Share of the time left after training that sampling leaves for rescoring.
    time_fraction: float = 0.25


@dataclass
class SelectConfig:
    vote: str = "hierarchical"  # hierarchical | flat | weighted
    # How the stages' candidates merge (select.py):
    #   fitting-first  programs that reproduce every train pair, then the families in stage_priority order,
    #                  where "dsl" then holds only such programs and "dsl-partial" the best non-fitting one
    #                  (BARC: a program fitting every train pair is strong evidence; a partial one is not)
    #   priority       the families in stage_priority order, "dsl" holding every DSL candidate
    #   score          every distinct grid by a calibrated probability of being right (the fields below)
    merge: str = "fitting-first"
    stage_priority: list[str] = field(default_factory=lambda: ["dsl", "neural", "dsl-partial", "baseline"])
    # Rescored grids rank by minus their mean NLL over the rescoring views + this * log(votes). At 1 a second
    # vote is worth doubling the grid's probability; not tuned (no trained model to tune it on here).
    rescore_vote_weight: float = 1.0
    # How rescored grids are ranked (solver/rules.py): mean-votes (the kit's, above), kgmon (NVARC: times
    # found - mean NLL over the views), nll-sum (the ARChitects' paper: summed NLL over the views), probmul
    # (the ARChitects' Kaggle 2024 score_full_probmul_3).
    rescore_rule: str = "mean-votes"
    # The score policy's calibration. A neural grid's probability is the model's own (select.calibrated). The others
    # are precisions measured by bench/merge.py (bench/results/merge_arc1_dev40.txt: 40 dev-split tasks of
    # arc-agi-1 training, DSL at 2 CPU-s): a fitting program's first grid was right 24 of 26 (25 of 26 when
    # re-run at d182055), the best partial program's 1 of 16, the baseline's 0 of 43 (kept above 0 so that it
    # still orders).
    fitting_precision: float = 0.9
    partial_precision: float = 0.06
    baseline_precision: float = 0.01


@dataclass
class RunConfig:
    """Where the stages run. Results do not depend on these, so a resumed run may change them."""
    gpu_workers: int = -1  # model worker processes; -1: one per visible GPU, or one CPU process without a GPU
    cpu_workers: int = -1  # processes for the CPU stages (the DSL); -1: the cores the model workers leave
    retries: int = 1       # a task whose worker died or ran out of memory is tried again, lighter, this often
    # Extra stage factories "module:function", each function(cfg, device) -> list[Stage]: stages added without
    # editing the kit (the tests' fault-injecting stages use this).
    extra_stages: list[str] = field(default_factory=list)


@dataclass
class FinetuneConfig:
    """`python -m solver finetune`: a base model on disk -> a model directory the kit runs (solver/finetune.py).
    The run's --steps, --format and the model paths come from the command line; everything else is here."""
    method: str = "auto"  # full | lora | auto: full below 100M parameters (a tiny base), LoRA above
    steps: int = 400      # optimiser steps
    batch_size: int = 16  # sequences per optimiser step, over every device and accumulation step
    micro_batch_size: int = 0  # sequences per forward pass on one device; 0 = the whole per-device batch
    lr: float = 0.0       # 0 = chosen by method and model size (finetune.default_lr)
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_length: int = 8192  # tokens per sequence, capped by the model's positions; longer tasks lose demos
    # Which output grids carry loss: auto, as the format's family trained (kit, the ARChitects and MIT mask
    # the first demonstration's, which no context predicts; NVARC does not); every one; every one but the
    # first; or the query's only.
    loss_on: str = "auto"
    # Views each training example is drawn under (the kit's invertible augmentations).
    augment: list[str] = field(default_factory=lambda: list(AUGMENT_KINDS))
    permute_background: float = 0.2  # share of colour permutations that move colour 0 too
    # MIT-style new tasks: with this probability every input, or every output, of an example goes through one
    # more symmetry of the square (a different rule, still a rule; not invertible, so training data only).
    io_transform: float = 0.0
    min_demos: int = 1  # an example keeps between this many and all of its other pairs as demonstrations
    group_by_length: bool = True  # batches of similar lengths: less padding
    lora_rank: int = 64
    lora_alpha: float = 64.0
    lora_rslora: bool = True
    lora_targets: list[str] = field(default_factory=lambda: [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    lora_embeddings: bool = False  # also train the embeddings and the head in full (ARChitects, NVARC)
    save_steps: int = 100         # a checkpoint (and a validation score) every this many steps
    keep_checkpoints: int = 2
    eval_tasks: int = 16   # tasks held out from the data (or generated) for the validation score
    eval_views: int = 4    # greedy views per validation task, voted as in a run
    eval_augment: list[str] = field(default_factory=lambda: list(AUGMENT_KINDS))
    gradient_checkpointing: bool = True  # CUDA only
    bf16: bool = True      # CUDA only
    unsloth: bool = True   # CUDA only, when unsloth is installed


@dataclass
class KaggleConfig:
    """Delivery to Kaggle (`python -m solver kaggle ...`); the run itself never reads it."""
    # The ARC-AGI-2 competition of 2026 (2025: arc-prize-2025). Attached to the notebook; `kaggle download` source.
    competition: str = "arc-prize-2026-arc-agi-2"
    user: str = ""  # your Kaggle username; empty = KAGGLE_USERNAME or the username in ~/.kaggle/kaggle.json
    kernel_title: str = "ARC solver kit submission"  # the notebook's id is this title slugified
    kit_dataset: str = "arc-solver-kit"        # dataset slug holding the kit's source
    wheels_dataset: str = "arc-solver-wheels"  # dataset slug holding offline_wheels/ (wheels + kaggle.lock)
    dataset_sources: list[str] = field(default_factory=list)  # more datasets, e.g. weights uploaded as one
    model_sources: list[str] = field(default_factory=list)    # Kaggle Models: owner/model/framework/variation/N
    # The ARC Prize's 4x L4 machine, given to a notebook that has the competition attached. "NvidiaL4" is the
    # name the kaggle CLI documents and public ARC Prize 2026 notebooks push; "NvidiaL4x4" is no Kaggle name
    # (sources: docs/kaggle.md). NvidiaTeslaT4 (2x T4) is the shape open to every notebook.
    machine_shape: str = "NvidiaL4"
    private: bool = True


@dataclass
class Config:
    name: str = DEFAULT_PRESET
    seed: int = 0
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    dsl: DslConfig = field(default_factory=DslConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    ttt: TTTConfig = field(default_factory=TTTConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    rescore: RescoreConfig = field(default_factory=RescoreConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    run: RunConfig = field(default_factory=RunConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    kaggle: KaggleConfig = field(default_factory=KaggleConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Check a preset/override value against the type of the field's current value."""
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return type(current)(value) if isinstance(current, float) else value
    elif isinstance(current, type(value)):
        return value
    raise ConfigError(f"{where}: expected {type(current).__name__}, got {value!r}")


def _apply(obj: Any, values: dict[str, Any], where: str) -> None:
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise ConfigError(f"unknown config key '{path}' (known: {', '.join(sorted(names))})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"'{path}' is a section; give it as a table of keys")
            _apply(current, value, path)
        else:
            setattr(obj, key, _check_choice(_coerce(value, current, path), path))


def _check_choice(value: Any, path: str) -> Any:
    if path in CHOICES and value not in CHOICES[path]:
        raise ConfigError(f"{path} must be one of {', '.join(CHOICES[path])}, got {value!r}")
    unknown = [v for v in value if v not in LIST_CHOICES[path]] if path in LIST_CHOICES else []
    if unknown:
        raise ConfigError(f"{path}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(LIST_CHOICES[path])}")
    return value


def preset_path(name_or_path: str) -> Path:
    """A .toml path or an existing file as given; otherwise a preset's name (a folder called `tiny` in the
    current directory does not hide the `tiny` preset)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.is_file():
        return path
    return CONFIG_DIR / f"{name_or_path}.toml"


def available_presets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def parse_override(text: str) -> dict[str, Any]:
    """'dsl.seconds_per_task=5' -> {'dsl': {'seconds_per_task': 5}}; the value is read as TOML, and a bare
    word that is not TOML is taken as a string."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    nested: dict[str, Any] = {}
    node = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def load_config(name_or_path: str | None = None, overrides: list[str] | dict | None = None) -> Config:
    """Defaults, then the preset file, then the overrides (strings 'a.b=v' or one nested dict)."""
    cfg = Config()
    path = preset_path(name_or_path or DEFAULT_PRESET)
    if not path.exists():
        raise ConfigError(f"no config preset '{name_or_path}' (looked for {path}; "
                          f"presets: {', '.join(available_presets())})")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _apply(cfg, values, "")
    if isinstance(overrides, dict):
        _apply(cfg, overrides, "")
    else:
        for text in overrides or []:
            _apply(cfg, parse_override(text), "")
    return cfg


def config_from_dict(values: dict[str, Any]) -> Config:
    """Rebuild a config from `Config.to_dict()` (worker processes, journals)."""
    cfg = Config()
    _apply(cfg, values, "")
    return cfg
