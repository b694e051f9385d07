"""`python -m solver report WORKDIR`: one self-contained HTML page about a run, read from its journal.

At the top: score against coverage (the gap between what the stages generated and what selection chose),
overall and per stage family; for a run with known solutions, the repeated-sampling curve (coverage and
pass@2 of the model's candidates against the number of views, with its fit; solver/curve.py); time spent
per stage; the workers' timeline; how often the ladder turned each knob down. Then per task: the train
pairs, each test input with both attempts, the truth when known, and every distinct candidate with the
stages that produced it. Grids are inline PNGs in the ARC palette, so
the page is one file that opens anywhere.
"""
from __future__ import annotations

import base64
import html
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, config_from_dict
from .curve import SamplingCurve, describe, sampling_curve
from .journal import TaskRecord, read_entries, stage_outputs
from .tasks import Candidate, ChallengeFileError, Task, as_grid, family, load_challenges, load_solutions
from .vote import tally

# The ARC palette as the ARC website draws it, colours 0..9.
PALETTE = np.array([[0x00, 0x00, 0x00], [0x00, 0x74, 0xD9], [0xFF, 0x41, 0x36], [0x2E, 0xCC, 0x40],
                    [0xFF, 0xDC, 0x00], [0xAA, 0xAA, 0xAA], [0xF0, 0x12, 0xBE], [0xFF, 0x85, 0x1B],
                    [0x7F, 0xDB, 0xFF], [0x87, 0x0C, 0x25]], dtype=np.uint8)
GRID_LINE = np.array([0x55, 0x55, 0x55], dtype=np.uint8)
MAX_CANDIDATES_SHOWN = 8  # distinct grids per test input, most voted first


def grid_png(grid: np.ndarray, target: int = 96) -> str:
    """The grid as a PNG data URI: cells about target/size pixels wide, 1-pixel lines between them."""
    import matplotlib.image
    grid = np.asarray(grid, dtype=np.uint8)
    h, w = grid.shape
    cell = int(np.clip(target // max(h, w), 3, 16))
    img = np.empty((h * (cell + 1) + 1, w * (cell + 1) + 1, 3), dtype=np.uint8)
    img[:] = GRID_LINE
    rows = (np.arange(h)[:, None] * (cell + 1) + 1 + np.arange(cell)).ravel()  # pixel rows inside cells
    cols = (np.arange(w)[:, None] * (cell + 1) + 1 + np.arange(cell)).ravel()
    img[np.ix_(rows, cols)] = np.repeat(np.repeat(PALETTE[grid], cell, axis=0), cell, axis=1)
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, img, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def figure_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figure_and_axes(width: float, height: float):
    # matplotlib's object API, not pyplot: no global figure state, no backend to switch (a notebook that
    # calls this keeps its own), and nothing to close.
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def plot_timeline(lanes: dict[str, list[tuple[float, float, str]]], deadline: float | None = None,
                  margin_at: float | None = None, title: str = ""):
    """A Gantt chart: one row per worker, one bar per task part (colour by its label: 'ok', 'cut',
    'degraded', 'lost'). The report draws a run's real timeline with it, the tuner a simulated one."""
    from matplotlib.patches import Rectangle
    colours = {"ok": "#2ECC40", "degraded": "#FF851B", "cut": "#AAAAAA", "lost": "#FF4136"}
    names = sorted(lanes, key=lambda n: (n.rstrip("0123456789"), int(n[len(n.rstrip("0123456789")):] or 0)))
    fig, ax = _figure_and_axes(10, 0.35 * len(names) + 1.4)
    for row, name in enumerate(names):
        for label in colours:
            spans = [(s, max(e - s, 1e-3)) for s, e, lab in lanes[name] if lab == label]
            if spans:
                ax.broken_barh(spans, (row - 0.4, 0.8), facecolors=colours[label], edgecolor="white",
                               linewidth=0.3)
    if deadline is not None:
        ax.axvline(deadline, color="black", linestyle="--", linewidth=1)
        ax.text(deadline, len(names) - 0.4, " budget", va="bottom", fontsize=8)
    if margin_at is not None:  # where the tuner wants the schedule to end, the margin before the budget
        ax.axvline(margin_at, color="#FF851B", linestyle=":", linewidth=1)
        ax.text(margin_at, len(names) - 0.4, "target ", va="bottom", ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("seconds since the run started")
    ax.set_ylim(-0.6, len(names) - 0.2)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    ax.legend(handles, list(colours), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig


def _stage_bar_chart(seconds: dict[str, float]):
    names = sorted(seconds, key=seconds.get)
    fig, ax = _figure_and_axes(6, 0.35 * len(names) + 0.9)
    ax.barh(names, [seconds[n] for n in names], color="#0074D9")
    ax.set_xlabel("seconds, summed over tasks")
    return fig


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a == b  # grids as nested lists


def load_run(workdir: Path) -> tuple[dict, dict[str, dict], list[dict]]:
    """The run header (with the run's self-check, if it had one, as header["selfcheck"]), the last entry of
    every task, and the worker events of a journal."""
    header: dict = {}
    tasks: dict[str, dict] = {}
    workers: list[dict] = []
    selfcheck: dict | None = None
    for e in read_entries(workdir):
        kind = e.get("type")
        if kind == "run" and not header:
            header = e
        elif kind == "task":
            tasks[e["task_id"]] = e
        elif kind == "worker":
            workers.append(e)
        elif kind == "selfcheck":
            selfcheck = e
    if header and selfcheck:
        header["selfcheck"] = selfcheck
    if not header:
        raise ChallengeFileError(f"{workdir} holds no run journal (journal.jsonl with a run header)")
    return header, tasks, workers


def _resolve(path: str | None, workdir: Path) -> Path | None:
    """A path from the journal header, which the run gave relative to where it was started."""
    if not path:
        return None
    p = Path(path)
    for candidate in (p, workdir / p, workdir.parent / p):
        if candidate.exists():
            return candidate
    return None


def write_report(workdir: str | Path, out: str | Path | None = None, challenges: str | Path | None = None,
                 solutions: str | Path | None = None) -> Path:
    workdir = Path(workdir)
    header, records, workers = load_run(workdir)
    challenges_path = Path(challenges) if challenges else _resolve(header.get("challenges"), workdir)
    solutions_path = Path(solutions) if solutions else _resolve(header.get("solutions"), workdir)
    tasks = load_challenges(challenges_path).tasks if challenges_path else {}
    truths = ({k: [g.tolist() for g in v] for k, v in load_solutions(solutions_path).items()}
              if solutions_path else {})
    out = Path(out) if out else workdir / "report.html"
    out.write_text(render(header, records, workers, tasks, truths))
    return out


def render(header: dict, records: dict[str, dict], workers: list[dict], tasks: dict[str, Task],
           truths: dict[str, list]) -> str:
    stats = _stats(records, truths)
    parts = [_HEAD, f"<h1>ARC solver run</h1><p class=meta>{html.escape(str(header.get('challenges')))} · "
             f"config <b>{html.escape(str(header.get('config', {}).get('name')))}</b> · started "
             f"{html.escape(str(header.get('started_at')))} · budget "
             f"{header.get('config', {}).get('budget', {}).get('total_seconds') or 'none'} s</p>"]
    parts.append(_selfcheck_html(header.get("selfcheck")))
    parts.append(_outputs_html(records))
    parts.append(_summary_html(stats, truths))
    parts.append(_curve_html(run_curve(header, records, truths)))
    parts.append(_time_html(records, header))
    parts.append(_index_html(records, truths, stats))
    for tid, rec in records.items():
        parts.append(_task_html(tid, rec, tasks.get(tid), truths.get(tid)))
    parts.append("</body></html>")
    return "\n".join(parts)


def _selfcheck_html(check: dict | None) -> str:
    """The self-check the run's neural paths were chosen by (`run --selfcheck`): what failed, what it switched."""
    if not check:
        return ""
    if check["passed"]:
        return "<p>Self-check passed on this machine: the config's neural paths ran as configured.</p>"
    tries = "".join(f"<li>{html.escape(', '.join(t['switches']) or 'as configured')}: "
                    + ("passed" if t["ok"] else "failed in " + html.escape(", ".join(
                        f"{name} ({err})" for name, err in list(t["failed"].items())[:1])))
                    + "</li>" for t in check["tries"])
    return (f"<p class=warn>Self-check failed on this machine as configured; the run switched "
            f"<b>{html.escape(', '.join(check['switches']))}</b>"
            + ("" if check["usable"] else " (no neural path passed: the model was off)") + f".</p><ul>{tries}</ul>")


def _stats(records: dict[str, dict], truths: dict[str, list]) -> dict:
    """Per task and test: attempt right, any candidate right, and which families had the truth."""
    s = {"outputs": 0, "correct": 0, "covered": 0, "family_cover": defaultdict(int),
         "family_chosen": defaultdict(int), "per_task": {}}
    for tid, rec in records.items():
        truth = truths.get(tid)
        if truth is None:
            continue
        flags = []
        for i, t in enumerate(truth):
            attempts = rec["attempts"][i] if i < len(rec["attempts"]) else []
            cands = [c for c in rec.get("candidates", []) if c["test_index"] == i]
            right = any(_same(a, t) for a in attempts)
            covered = any(_same(c["grid"], t) for c in cands)
            s["outputs"] += 1
            s["correct"] += right
            s["covered"] += covered
            for fam in {family(c["stage"]) for c in cands if _same(c["grid"], t)}:
                s["family_cover"][fam] += 1
                if right:
                    s["family_chosen"][fam] += 1
            flags.append((right, covered))
        s["per_task"][tid] = flags
    return s


def _summary_html(s: dict, truths: dict) -> str:
    if not truths:
        return "<p>No solutions known for this run: attempts are shown without truth.</p>"
    n = max(1, s["outputs"])
    missed = [tid for tid, flags in s["per_task"].items() if any(c and not r for r, c in flags)]
    rows = "".join(f"<tr><td>{html.escape(f)}</td><td>{s['family_cover'][f]}</td><td>{s['family_chosen'][f]}</td></tr>"
                   for f in sorted(s["family_cover"]))
    return (f"<h2>Score and coverage</h2><table class=num><tr><th></th><th>test outputs</th><th>fraction</th></tr>"
            f"<tr><td>selected (score)</td><td>{s['correct']}</td><td>{s['correct'] / n:.4f}</td></tr>"
            f"<tr><td>generated (coverage)</td><td>{s['covered']}</td><td>{s['covered'] / n:.4f}</td></tr>"
            f"<tr><td>gap: generated, not chosen</td><td>{s['covered'] - s['correct']}</td>"
            f"<td>{(s['covered'] - s['correct']) / n:.4f}</td></tr>"
            f"<tr><td>all</td><td>{s['outputs']}</td><td></td></tr>"
            f"</table><p>Per stage family: test outputs whose truth it generated, and of those how many the "
            f"attempts got right.</p><table class=num><tr><th>family</th><th>generated</th><th>chosen</th></tr>"
            f"{rows}</table>"
            + (f"<p>Selection missed a generated truth in: {', '.join(_link(t) for t in missed)}</p>"
               if missed else ""))


def run_curve(header: dict, records: dict[str, dict], truths: dict[str, list]) -> SamplingCurve | None:
    """The run's repeated-sampling curve (solver/curve.py), from its journal entries and the truths (grids as
    nested lists); None without truths, without model candidates, or with a header config this kit cannot
    read."""
    if not truths:
        return None
    try:
        cfg = config_from_dict(header.get("config", {}))
    except (ConfigError, TypeError, ValueError):
        return None
    grids = {tid: [as_grid(g) for g in v] for tid, v in truths.items()}
    return sampling_curve((TaskRecord.from_json(r) for r in records.values()), grids, cfg)


def sampling_curve_of(workdir: str | Path, solutions: str | Path | None = None) -> SamplingCurve | None:
    """The repeated-sampling curve of the run in `workdir` (the tuner's entry point); the solutions as the
    run was given them unless `solutions`. None when they are not known."""
    workdir = Path(workdir)
    header, records, _ = load_run(workdir)
    path = Path(solutions) if solutions else _resolve(header.get("solutions"), workdir)
    if path is None:
        return None
    return run_curve(header, records, {k: [g.tolist() for g in v] for k, v in load_solutions(path).items()})


def plot_sampling_curve(curve: SamplingCurve, title: str = ""):
    """Coverage and pass@2 against views, log-log (as Brown et al. draw it), with the fitted coverage curve
    carried on to 4x the views. Points at 0 are not drawn (log axis): the table beside it has them; a curve at
    0 throughout is drawn on a linear y axis."""
    from matplotlib.ticker import FuncFormatter
    fig, ax = _figure_and_axes(6, 4)
    ax.plot(curve.views, curve.coverage, "o-", color="#0074D9", markersize=8, label="coverage (any candidate right)")
    ax.plot(curve.views, curve.pass2, "s--", color="#FF851B", markersize=4, label="pass@2 (selection's two attempts)")
    if curve.fit is not None:
        a, b = curve.fit
        xs = np.geomspace(min(curve.views), 4 * max(curve.views), 60)
        ax.plot(xs, [curve.predict(x) for x in xs], ":", color="#0074D9", label=f"fit exp({a:.2f} n^{b:.2f})")
    ax.set_xscale("log", base=2)
    if max(curve.coverage) > 0:  # log axes need a positive point; a curve at 0 throughout stays linear
        ax.set_yscale("log", nonpositive="mask")
    percent = FuncFormatter(lambda y, _: f"{y:.0%}" if y >= 0.01 else f"{y:.1%}")
    ax.yaxis.set_major_formatter(percent)
    ax.yaxis.set_minor_formatter(percent)
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_xlabel("views")
    ax.set_ylabel(f"fraction of {curve.outputs} test outputs")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig


def _curve_html(curve: SamplingCurve | None) -> str:
    if curve is None:
        return ""
    rows = "".join(f"<tr><td>{v:g}</td><td>{c:.4f}</td><td>{p:.4f}</td><td>"
                   f"{'' if curve.fit is None else f'{curve.predict(v):.4f}'}</td></tr>"
                   for v, c, p in zip(curve.views, curve.coverage, curve.pass2))
    if curve.fit is not None:
        n = 2 * curve.views[-1]
        rows += f"<tr><td>{n:g}</td><td></td><td></td><td>{curve.predict(n):.4f}</td></tr>"
    sentences = "".join(f"<p>{html.escape(line)}</p>" for line in describe(curve))
    return (f"<h2>Repeated sampling</h2><p>The model's candidates of the first n views of each task (one fixed "
            f"random order of its views, nested), over {curve.tasks} tasks with known solutions: coverage = the "
            f"truth is among them, pass@2 = the kit's selection on them alone puts it in its two attempts. Where "
            f"coverage climbs and pass@2 does not, selection is the bottleneck; where coverage is flat, more views "
            f"buy nothing.</p><div class=row><table class=num><tr><th>views</th><th>coverage</th><th>pass@2</th>"
            f"<th>fit</th></tr>{rows}</table><img src='{figure_png(plot_sampling_curve(curve))}'></div>{sentences}")


def _outputs_html(records: dict[str, dict]) -> str:
    """What each model stage generated: prompts, outputs, candidates, rejects by reason; a loud warning
    when it produced no valid candidate on most tasks."""
    outputs = stage_outputs([rec.get("stats", {}) for rec in records.values()])
    if not outputs:
        return ""
    rows, warnings = "", ""
    for name, o in sorted(outputs.items()):
        rejected = ", ".join(f"{n} {html.escape(reason)}" for reason, n in o.rejects.most_common()) or "none"
        rows += (f"<tr><td>{html.escape(name)}</td><td>{o.tasks}</td><td>{o.prompts}</td><td>{o.decoded}</td>"
                 f"<td>{o.candidates}</td><td>{o.empty_tasks}</td><td style='text-align:left'>{rejected}</td></tr>")
        if o.mostly_empty:
            warnings += f"<p class=warn><b>{html.escape(o.warning(name))}</b></p>"
    return (warnings + "<h2>What the model did</h2><table class=num><tr><th>stage</th><th>tasks</th>"
            "<th>prompts</th><th>decoded</th><th>candidates</th><th>tasks without a candidate</th>"
            f"<th>rejected outputs, by reason</th></tr>{rows}</table>")


def _time_html(records: dict[str, dict], header: dict) -> str:
    seconds: dict[str, float] = defaultdict(float)
    knobs: dict[str, int] = defaultdict(int)
    lanes: dict[str, list] = defaultdict(list)
    for rec in records.values():
        for name, sec in rec.get("seconds", {}).items():
            seconds[name] += sec
        for name, phases in rec.get("phases", {}).items():  # a stage's phases, beside its total
            for phase, sec in phases.items():
                seconds[f"{name}/{phase}"] += sec
        for k in rec.get("degraded", []):
            knobs[k] += 1
        for part in rec.get("parts", {}).values():
            if "end" in part:
                label = ("cut" if rec["status"] == "cut" else "lost" if any("lost" in e for e in rec["errors"])
                         else "degraded" if rec.get("degraded") else "ok")
                lanes[part["worker"]].append((part["start"], part["end"], label))
    out = ["<h2>Time</h2>"]
    if seconds:
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.2f}</td><td>{v / max(1, len(records)):.3f}</td></tr>"
                       for k, v in sorted(seconds.items(), key=lambda kv: -kv[1]))
        out.append(f"<div class=row><table class=num><tr><th>stage</th><th>seconds</th><th>per task</th></tr>"
                   f"{rows}</table><img src='{figure_png(_stage_bar_chart(seconds))}'></div>")
    if lanes:
        budget = header.get("config", {}).get("budget", {}).get("total_seconds")
        out.append(f"<p>Workers' timeline (from the journal; a resumed run's parts count from its own start)."
                   f"</p><img src='{figure_png(plot_timeline(lanes, budget))}'>")
    if knobs:
        out.append("<p>The ladder turned down: " + ", ".join(f"<b>{html.escape(k)}</b> in {n} tasks"
                                                            for k, n in sorted(knobs.items())) + "</p>")
    return "\n".join(out)


def _link(tid: str) -> str:
    return f"<a href='#t-{html.escape(tid)}'>{html.escape(tid)}</a>"


def _index_html(records: dict[str, dict], truths: dict, s: dict) -> str:
    rows = []
    for tid, rec in records.items():
        flags = s["per_task"].get(tid)
        mark = "" if flags is None else "".join("✓" if r else ("◐" if c else "✗") for r, c in flags)
        plan, ran = rec.get("plan", {}), rec.get("parts", {})
        plan_text = " · ".join(
            ([f"ttt {plan.get('ttt_steps')}, {plan.get('views')} {plan.get('method')} views" if plan.get("model")
              else "no model"] if "gpu" in ran else [])
            + ([f"dsl {plan.get('dsl_seconds')} s"] if "cpu" in ran else []))
        rows.append(f"<tr class={html.escape(rec['status'])}><td>{_link(tid)}</td><td>{html.escape(rec['status'])}"
                    f"</td><td>{mark}</td><td>{rec.get('cells', '')}</td><td>{sum(rec.get('seconds', {}).values()):.2f}"
                    f"</td><td>{html.escape(plan_text)}</td><td>{len(rec.get('errors', []))}</td></tr>")
    legend = " ✓ right · ◐ generated, not chosen · ✗ not generated" if truths else ""
    return (f"<h2>Tasks</h2><p>{legend}</p><table class=index><tr><th>task</th><th>status</th><th>tests</th>"
            f"<th>cells</th><th>stage s</th><th>plan</th><th>errors</th></tr>{''.join(rows)}</table>")


def _figure(grid, caption: str, cls: str = "") -> str:
    if grid is None:
        return f"<figure class='{cls}'><div class=missing>?</div><figcaption>{caption}</figcaption></figure>"
    g = np.asarray(grid)
    return (f"<figure class='{cls}'><img src='{grid_png(g)}'><figcaption>{caption} "
            f"<span class=dim>{g.shape[0]}×{g.shape[1]}</span></figcaption></figure>")


def _task_html(tid: str, rec: dict, task: Task | None, truth: list | None) -> str:
    out = [f"<section id='t-{html.escape(tid)}'><h3>{html.escape(tid)} <span class='badge {rec['status']}'>"
           f"{html.escape(rec['status'])}</span></h3>"]
    secs = " · ".join(f"{html.escape(k)} {v:.2f} s" for k, v in rec.get("seconds", {}).items())
    if secs or rec.get("degraded"):
        out.append(f"<p class=meta>{secs}" + (f" · turned down: {html.escape(', '.join(rec['degraded']))}"
                                              if rec.get("degraded") else "") + "</p>")
    for e in rec.get("errors", []):
        out.append(f"<p class=error>{html.escape(e)}</p>")
    if task is not None:
        pairs = "".join(f"<div class=pair>{_figure(ex.input, f'in {k}')}<span class=arrow>→</span>"
                        f"{_figure(ex.output, f'out {k}')}</div>" for k, ex in enumerate(task.train))
        out.append(f"<div class=row><b class=lab>train</b>{pairs}</div>")
    for i, attempts in enumerate(rec["attempts"]):
        t = truth[i] if truth and i < len(truth) else None
        row = [f"<div class=row><b class=lab>test {i}</b>"]
        if task is not None and i < len(task.test):
            row.append(_figure(task.test[i].input, "input"))
        for k, a in enumerate(attempts):
            verdict = "" if t is None else (" ✓" if _same(a, t) else " ✗")
            row.append(_figure(a, f"attempt {k + 1}{verdict}", "right" if t is not None and _same(a, t) else ""))
        if t is not None:
            row.append(_figure(t, "truth", "truth"))
        row.append("</div>")
        out.append("".join(row))
        out.append(_candidates_html(rec, i, attempts, t))
    out.append("</section>")
    return "\n".join(out)


def _evidence_caption(members: list[Candidate]) -> str:
    """What the candidates of one grid say for it, from their typed fields: a program fitting every train pair
    (or its share of train cells right), the model's best generation probability, the rescoring views' mean
    NLL."""
    bits = []
    if any(c.fits_train for c in members if c.family == "dsl"):
        bits.append("fits train")
    accuracy = [c.train_accuracy for c in members if c.train_accuracy is not None]
    if accuracy:
        bits.append(f"train cells {100 * max(accuracy):.0f}%")
    logprobs = [c.logprob for c in members if c.logprob is not None]
    if logprobs:
        bits.append(f"p {math.exp(max(logprobs)):.2g}")
    nll = next((c.mean_nll for c in members if c.mean_nll is not None), None)
    if nll is not None:
        bits.append(f"NLL {nll:.2f}/{len(next(c.rescore_nll for c in members if c.rescore_nll))} views")
    return ", ".join(bits)


def _candidates_html(rec: dict, i: int, attempts: list, truth: Any) -> str:
    """Distinct candidate grids for test i, most voted first, each with the stages that produced it and
    their evidence (read through the journal's typed candidates, so older journals show too)."""
    mine = [c for c in TaskRecord.from_json(rec).candidates if c.test_index == i]
    if not mine:
        return ""
    t = tally([c.grid for c in mine], [float(c.votes) for c in mine])
    members: list[list[Candidate]] = [[] for _ in t.grids]
    for c, g in zip(mine, t.group_of):
        members[g].append(c)
    order = t.ranking("weight")
    figs = []
    for k in order[:MAX_CANDIDATES_SHOWN]:
        grid, group = t.grids[k].tolist(), members[k]
        stages: dict[str, int] = defaultdict(int)
        for c in group:
            stages[c.stage] += c.votes
        programs = list(dict.fromkeys(c.program for c in group if c.program))
        tags = [f"A{n + 1}" for n, a in enumerate(attempts) if a == grid]
        right = truth is not None and grid == truth
        caption = (", ".join(f"{html.escape(s)}×{n}" for s, n in stages.items())
                   + (" " + "/".join(tags) if tags else "") + (" ✓" if right else ""))
        evidence = _evidence_caption(group)
        if evidence:
            caption += f"<br><span class=dim>{html.escape(evidence)}</span>"
        if programs:  # provenance: the (first) program that made it, in full on hover
            shown = programs[0] if len(programs[0]) <= 60 else programs[0][:57] + "..."
            more_programs = f" +{len(programs) - 1}" if len(programs) > 1 else ""
            caption += (f"<br><span class=dim title='{html.escape(chr(10).join(programs), quote=True)}'>"
                        f"{html.escape(shown)}{more_programs}</span>")
        figs.append(_figure(grid, caption, "right" if right else ""))
    more = (f"<span class=dim>+{len(order) - MAX_CANDIDATES_SHOWN} more</span>"
            if len(order) > MAX_CANDIDATES_SHOWN else "")
    return f"<div class='row cands'><b class=lab>candidates</b>{''.join(figs)}{more}</div>"


_HEAD = """<!doctype html><html><head><meta charset=utf-8><title>ARC solver run</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin:0 0 4px}h2{margin-top:28px;border-bottom:1px solid #ddd}
section{border-top:1px solid #ddd;padding:8px 0}
.meta{color:#666;margin:2px 0}.dim{color:#999;font-size:11px}
.error{color:#b00;font-family:monospace;font-size:12px;margin:2px 0;white-space:pre-wrap}
.warn{background:#fde8e8;border:2px solid #FF4136;padding:8px;color:#900}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
table.num td:not(:first-child){text-align:right}
tr.cut td{background:#f3f3f3}tr.error td{background:#fde8e8}tr.invalid td{background:#fff4d6}
.row{display:flex;flex-wrap:wrap;align-items:flex-end;gap:10px;margin:6px 0}
.lab{width:80px;align-self:center;color:#555}.pair{display:flex;align-items:center;gap:4px}
.arrow{color:#999}figure{margin:0;text-align:center}figure img{display:block;image-rendering:pixelated}
figcaption{font-size:11px;color:#444;max-width:180px}
figure.right img{outline:3px solid #2ECC40}figure.truth img{outline:3px dashed #0074D9}
.missing{width:40px;height:40px;border:1px dashed #aaa;line-height:40px;color:#aaa}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;background:#2ECC40;color:#fff;vertical-align:middle}
.badge.cut{background:#999}.badge.error{background:#FF4136}.badge.invalid{background:#FF851B}
</style></head><body>"""
