"""Final-step fitting, the search's half that judges states (search.py): every new state is checked against
the train outputs through the learned final steps of learn.py (as is, colour map, lookup, resize, local
rules, stamps, roles); a step that makes a state reproduce every train pair is applied to its test grids
and the program is kept (_keep), to be ranked by search.py.

A mixin of search.Search: it reads the search's task (n_train, targets, target_shapes, test_shapes,
bar_layouts, sizes, stacker, cfg) and keeps what it found in found, best_cost, partial and deferred.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..vote import hash_grid
from . import learn, roles
from .grids import Grid, defined
from .learn import Fitted
from .node import Node


MISSING = object()
STEP_CACHE_FRACTION = 0.05  # of the task's memory: learned steps' results per train grid (StepCache)
ENTRY_BYTES = 150  # a StepCache entry's own cost beside its grid (dict slot, tuple key and value), roughly


@dataclass
class Program:
    """A program that reproduces every train pair, with what it predicts for the test inputs."""
    text: str
    cost: float                # total cost of its steps; in a SearchResult, the rank cost (Search._result)
    outputs: tuple[Grid, ...]  # one per test input
    depth: int = 0             # searched ops before the learned final steps (composition: its deepest edit)




def state_key(grids: Sequence[Grid]) -> tuple[int, ...]:
    return tuple(hash_grid(g) for g in grids)


def _apply_all(fn, grids: Sequence[Grid]) -> tuple[Grid, ...] | None:
    out = []
    for g in grids:
        r = defined(fn, g)
        if r is None:
            return None
        out.append(r)
    return tuple(out)


class StepCache:
    """A learned step's result on each train grid, computed once per search, like the op cache (frontier.py):
    (step, grid hash) -> the result, or None where the step is undefined; with whether the result could be
    colour-mapped onto that pair's output (learn.cell_mappable). Nodes share many train grids, and the
    resize steps (extend, tile, window...) were the costliest part of checking a node. Steps are keyed by
    id(): the search holds every step it caches (Fitting.resize_cache) until it ends. Stops growing at
    `max_bytes`."""

    def __init__(self, max_bytes: float):
        self.max_bytes = max_bytes
        self.results: dict[tuple[int, int, int], tuple[Grid, bool] | None] = {}
        self.bytes = 0

    def apply(self, step: Fitted, xs: Sequence[Grid], hashes: Sequence[int], targets: Sequence[Grid],
              whole: bool = True) -> tuple[tuple[Grid, ...], bool] | None:
        """(the step on every train grid, whether each result is colour-mappable onto its output), or None
        where the step is undefined on one of them. Unless `whole`, it stops at the first result that is not
        mappable (a colour map cannot fit then) and gives the results up to it."""
        out, mappable = [], True
        for i, (x, h) in enumerate(zip(xs, hashes)):
            key = (id(step), h, i)  # i: mappability is to the pair's own output
            done = self.results.get(key, MISSING)
            if done is MISSING:
                r = defined(step.apply, x)
                done = None if r is None else (r, learn.cell_mappable(r, targets[i]))
                if self.bytes < self.max_bytes:
                    self.results[key] = done
                    self.bytes += ENTRY_BYTES + (0 if r is None else r.nbytes)
            if done is None:
                return None
            out.append(done[0])
            mappable = mappable and done[1]
            if not (mappable or whole):
                break
        return tuple(out), mappable


class Fitting:
    """The final steps tried on each new state, and the programs they make."""

    def _keep(self, text: str, cost: float, outputs: tuple[Grid, ...], depth: int) -> None:
        if self.test_shapes is not None and any(o.shape != s for o, s in zip(outputs, self.test_shapes)):
            cost += self.cfg.shape_penalty  # the train pairs say otherwise about the output's shape
        key = state_key(outputs)
        progs = self.found.setdefault(key, [])
        if any(p.text == text for p in progs):  # found by the deep search and again by the main one
            return
        progs.append(Program(text, cost, outputs, depth))
        self.best_cost = min(self.best_cost, cost)

    def _finish(self, node: Node, *steps: Fitted) -> None:
        """Apply learned final steps to the node's test grids and keep the program if they apply."""
        outs = node.grids[self.n_train:]
        text, cost = node.program, node.cost
        for step in steps:
            outs = _apply_all(step.apply, outs)
            if outs is None:
                return
            if step.name:
                text = f"{step.name}({text})"
            cost += step.cost
        self._keep(text, cost, outs, node.depth)

    def _finish_fitted(self, node: Node, step: Fitted | None) -> None:
        if step is not None:
            self._finish(node, step)

    def _check(self, node: Node) -> None:
        """Every final step that makes the node reproduce the train outputs."""
        xs = node.grids[:self.n_train]
        if self.sizes is not None:
            self.sizes.see([g.shape for g in node.grids], node.program)
        shapes_match = all(x.shape == s for x, s in zip(xs, self.target_shapes))
        if shapes_match:
            step = learn.fit_colour_map(xs, self.targets)
            if step is not None:
                self._finish(node, step)
                return
            step = learn.fit_lookup(xs, self.targets)
            if step is not None:
                self._finish(node, step)
            step = learn.fit_role_map(xs, self.targets)
            if step is not None:
                self._finish(node, step)
            if node.depth <= self.cfg.local_rule_depth:
                self._finish_fitted(node, learn.fit_shape_swap(xs, self.targets))
            self._note_partial(node, xs)
            if node.depth > 0 and self.stacker is not None and (self.canvas is not None or all(
                    g.shape == i.shape for g, i in zip(node.grids, self.inputs))):
                self.stacker.add(node, node.cost, xs)
            if node.depth <= self.cfg.local_rule_depth:
                # Below the root only the cheap feature sets run now; the ones that label objects wait
                # until the search is done, for whatever budget is left.
                which = "cheap" if node.depth else "all"
                for step in learn.fit_local_rules(xs, self.targets, which):
                    self._finish(node, step)
                if node.depth == 0:
                    self._finish_fitted(node, learn.fit_stamp(xs, self.targets))
                if node.depth == 0 and self.cfg.roles:
                    self._roles(node, xs, lambda a, b: learn.fit_local_rules(a, b, which))
                if node.depth:
                    self.deferred.append(node)
            return
        for step in (learn.fit_lookup(xs, self.targets), learn.fit_block_tiling(xs, self.targets),
                     learn.fit_count_bar(xs, self.targets, self.bar_layouts)):
            if step is not None:
                self._finish(node, step)
        scaled = learn.fit_count_scale(xs, self.targets)
        shapes = tuple(x.shape for x in xs)
        steps = [(k, step) for k, step in enumerate(self._resize_steps(xs)) if (shapes, k) not in self.misfits]
        hashes = node.hashes[:self.n_train]
        for k, step in steps + ([(-1, scaled)] if scaled else []):
            # A resize step (held in resize_cache for the search) goes through the per-grid cache, and below
            # the root, where only a colour map may follow it, stops at the first train grid it cannot map;
            # the count scale is fitted afresh for each node, so it is applied directly.
            done = (self.step_cache.apply(step, xs, hashes, self.targets, node.depth == 0) if k >= 0
                    else _apply_all(step.apply, xs))
            if done is None:
                continue
            resized, mappable = done if k >= 0 else (done, True)
            if any(r.shape != s for r, s in zip(resized, self.target_shapes)):
                if k >= 0:  # a resize step's output shape follows from its input's: no use trying it again
                    self.misfits.add((shapes, k))
                continue
            if len(resized) < len(xs):
                continue  # stopped early: not mappable
            cmap = learn.fit_colour_map(resized, self.targets) if mappable else None
            if cmap is not None:
                self._finish(node, step, cmap)
            elif node.depth == 0:
                for rule in learn.fit_local_rules(resized, self.targets):
                    self._finish(node, step, rule)

    def _roles(self, node: Node, xs: Sequence[Grid], fit) -> None:
        """Learned steps fitted with each grid's free colours renamed by their rank (roles.py)."""
        for step in roles.normalised(fit, xs, self.targets, node.grids[self.n_train:], Fitted):
            self._finish(node, step)

    def _resize_steps(self, xs: Sequence[Grid]) -> list[Fitted]:
        """learn.resize_steps, which reads only the node's shapes (the targets are fixed): once per shapes."""
        key = tuple(x.shape for x in xs)
        steps = self.resize_cache.get(key)
        if steps is None:
            steps = self.resize_cache[key] = learn.resize_steps(xs, self.targets)
        return steps

    def _note_partial(self, node: Node, xs: Sequence[Grid]) -> None:
        right = sum(int((x == y).sum()) for x, y in zip(xs, self.targets))
        total = sum(y.size for y in self.targets)
        acc = right / total
        if self.partial is None or acc > self.partial[0]:
            self.partial = (acc, Program(node.program, node.cost, node.grids[self.n_train:]))
