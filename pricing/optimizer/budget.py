"""The one place where the time left for a solve is computed.

``time_limit`` holds for a whole command (reading, candidates, pruning, every solve, writing):
the command sets ``Settings.deadline`` to the wall-clock time its solver work must end by, and
each solve asks :func:`solve_deadline` how long it may run. Wall-clock (``time.time``) rather
than a process's monotonic clock, so the deadline means the same in a worker process.
"""

from __future__ import annotations

import time

from pricing.domain.settings import Settings

__all__ = ["solve_deadline", "command_deadline", "spent", "MIN_SOLVE_SECONDS"]

# What a solve gets even when the budget is spent: enough for HiGHS to load the model and
# return the incumbent it was handed, so the answer is "not proven" rather than nothing.
MIN_SOLVE_SECONDS = 0.01


def command_deadline(settings: Settings, started: float) -> Settings:
    """``settings`` with the deadline of a command that started at wall-clock ``started``
    (``time.time()``) and must end within ``settings.time_limit`` seconds."""
    return settings.replace(deadline=float(started + settings.time_limit))


def solve_deadline(settings: Settings) -> float:
    """``time.perf_counter()`` value by which the solve starting now must stop: ``time_limit``
    from now, or the command's deadline when that comes first."""
    now = time.perf_counter()
    own = now + settings.time_limit
    if settings.deadline is None:
        return own
    left = settings.deadline - time.time()
    return min(own, now + max(left, MIN_SOLVE_SECONDS))


def spent(settings: Settings) -> bool:
    """True when the command's deadline has passed: a solve starting now gets only the token
    ``MIN_SOLVE_SECONDS`` (its ``solve_deadline`` is still ahead of it by that much)."""
    return settings.deadline is not None and time.time() >= settings.deadline
