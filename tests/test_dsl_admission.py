"""The admission rule of issue 24 (bench/op_usage.admission) on a toy library: an op family written for one
task joins the general catalogue only when the solving programs of at least two development tasks besides
that one use it; held-out tasks never count."""
from __future__ import annotations

from bench.dsl import is_held_out
from bench.op_usage import ADMIT, OTHERS, SOME_TASK, admission

HELD = {"h1", "h2", "h3"}  # the toy library's held-out tasks


def held(task: str) -> bool:
    return task in HELD


SOLVING = {
    "rot90": {"a", "b"},              # general by construction: admitted whoever uses it
    "unused_general": set(),
    "halo": {"a", "b", "c"},           # written from a, used by b and c too: admitted
    "spiral": {"a", "b"},              # written from a, one other user: not admitted
    "zigzag": {"b", "c"},              # written from a, which it does not even solve, two others: admitted
    "pyramid": {"a", "h1", "h2", "h3"},  # written from a, only held-out users besides: not admitted
    "mixed": {"a", "b", "h1"},         # one development user besides a, one held-out: not admitted
    "ledger": {"x", "y"},              # written for some unrecorded task: taken to be a user, so 3 needed
    "ledger3": {"x", "y", "z"},
}
WRITTEN_FOR = {"rot90": None, "unused_general": None, "halo": "a", "spiral": "a", "zigzag": "a",
               "pyramid": "a", "mixed": "a", "ledger": SOME_TASK, "ledger3": SOME_TASK, "never_used": "a"}


def test_admits_families_used_by_two_development_tasks_besides_their_own():
    verdict = admission(SOLVING, WRITTEN_FOR, held)
    assert verdict == {"rot90": True, "unused_general": True, "halo": True, "spiral": False, "zigzag": True,
                       "pyramid": False, "mixed": False, "ledger": False, "ledger3": True, "never_used": False}


def test_the_task_it_was_written_from_is_not_counted():
    # The same two users admit a family written from a third task, and not one written from one of them.
    users = {"f": {"a", "b"}}
    assert admission(users, {"f": "c"}, held) == {"f": True}
    assert admission(users, {"f": "a"}, held) == {"f": False}


def test_held_out_tasks_are_never_counted():
    users = {"f": {"a", "b", "h1"}, "g": {"a", "b", "h1", "h2"}}
    assert admission(users, {"f": "a", "g": "a"}, held) == {"f": False, "g": False}
    # As development tasks the same ids would admit both.
    assert admission(users, {"f": "a", "g": "a"}, lambda t: False) == {"f": True, "g": True}


def test_default_split_is_the_benchmarks_and_the_threshold_is_three_in_all():
    assert ADMIT == 3 and OTHERS == 2
    toy = [f"toy{i:02d}" for i in range(20)]
    dev = [t for t in toy if not is_held_out(t)]
    out = [t for t in toy if is_held_out(t)]
    assert len(dev) >= 3 and len(out) >= 2
    assert admission({"f": {dev[0], dev[1], dev[2]}}, {"f": dev[0]}) == {"f": True}
    assert admission({"f": {dev[0], dev[1], out[0], out[1]}}, {"f": dev[0]}) == {"f": False}


def test_only_the_families_asked_about_are_judged():
    assert admission(SOLVING, {}, held) == {}
    assert admission({}, {"f": None, "g": "a"}, held) == {"f": True, "g": False}
