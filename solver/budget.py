"""Clocks and deadlines. The run owns one global deadline; each task gets a share of what remains.

Deadlines are absolute points on the monotonic clock, so they can be handed to stages (and, as seconds
remaining, to worker processes) without drifting.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() value; math.inf for no limit

    @classmethod
    def after(cls, seconds: float | None) -> "Deadline":
        return cls(math.inf if seconds is None else time.monotonic() + max(0.0, seconds))

    @classmethod
    def never(cls) -> "Deadline":
        return cls(math.inf)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def within(self, seconds: float | None) -> "Deadline":
        """The earlier of this deadline and `seconds` from now."""
        if seconds is None:
            return self
        return Deadline(min(self.at, time.monotonic() + max(0.0, seconds)))


def task_share(run_deadline: Deadline, tasks_left: int, max_fraction: float,
               weight: float = 1.0, mean_weight: float = 1.0) -> float | None:
    """Seconds a task may use: its weight's share of the time left, at most `max_fraction` equal shares,
    so one large task cannot starve the rest. None when the run has no limit."""
    if math.isinf(run_deadline.at):
        return None
    equal = run_deadline.remaining() / max(1, tasks_left)
    return min(equal * weight / max(mean_weight, 1e-9), equal * max_fraction)
