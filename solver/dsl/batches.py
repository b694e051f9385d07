"""Op families evaluated per grid in one go (issue 24 item 2): ops that share work on a grid (its
background, its objects under one connectivity and their selections, its parts under one splitter) are
written as a shared step and a member step, so that the search computes the shared step once per grid
for every member of the family.

An op's fn is then one of:
- UsesBg(f): fn(g) = f(g, background(g)); the search passes the background from its per-grid memo.
- Batched(key, share, member): fn(g) = member(g, bg, share(g, bg)) with bg = background(g); ops with
  equal keys have the same `share`, and the search (frontier.OpCache) runs `share` once a grid and each
  member on its result (or, with frontier.EAGER_BATCHES, every member as soon as one is asked for).
Both are plain callables, so a Batched op alone behaves exactly as its family's unbatched function
(tests/test_dsl_batches.py checks every member against the unbatched primitive).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .grids import Grid, background
from .objects import Obj, objects, select
from .lists import PROPERTIES


@dataclass(frozen=True)
class UsesBg:
    """An op that reads the grid's background: fn(g) = f(g, background(g))."""
    f: Callable[[Grid, int], Grid | None]

    def __call__(self, g: Grid) -> Grid | None:
        return self.f(g, background(g))


@dataclass(frozen=True)
class Batched:
    """One member of a family batch: fn(g) = member(g, bg, share(g, bg)). `key` names the shared step
    (equal keys, equal `share`), e.g. 'objects[c8]' or 'split[2x2]'."""
    key: str
    share: Callable[[Grid, int], Any]
    member: Callable[[Grid, int, Any], Grid | None]

    def __call__(self, g: Grid) -> Grid | None:
        bg = background(g)
        return self.member(g, bg, self.share(g, bg))


class Scene:
    """A grid's objects under one connectivity, with each selector's pick and each property's values
    computed at most once (the members of an objects batch ask for the same ones)."""
    __slots__ = ("obs", "_picks", "_values")

    def __init__(self, obs: tuple[Obj, ...]):
        self.obs = obs
        self._picks: dict[str, Obj | None] = {}
        self._values: dict[str, list] = {}

    def pick(self, selector: str) -> Obj | None:
        if selector not in self._picks:
            self._picks[selector] = select(self.obs, selector)
        return self._picks[selector]

    def values(self, prop: str) -> list:
        if prop not in self._values:
            self._values[prop] = PROPERTIES[prop](self.obs)
        return self._values[prop]


def on_objects(mode: str, member: Callable[[Grid, int, Scene], Grid | None]) -> Batched:
    """A member of the objects batch of connectivity `mode`."""
    return Batched(f"objects[{mode}]", lambda g, bg, m=mode: Scene(objects(g, m, bg)), member)


def on_parts(name: str, splitter: Callable[[Grid], list[Grid] | None],
             member: Callable[[Grid, int, list[Grid] | None], Grid | None]) -> Batched:
    """A member of the batch of the parts `splitter` (named `name`) cuts a grid into."""
    return Batched(f"split[{name}]", lambda g, bg, s=splitter: s(g), member)
