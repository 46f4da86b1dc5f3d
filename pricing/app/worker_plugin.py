"""A Dask worker plugin for the app's local solve pool (imports ``distributed``: loaded only when
the app starts its pool)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["Niceness"]


class Niceness(WorkerPlugin):
    """Local workers run at a lower priority than the app server (niceness ``level``), so a page
    is drawn at once even while every core is solving; a solve loses only what the server uses.
    Re-applied to a worker the nanny restarts."""

    name = "bundle-pricing-niceness"
    idempotent = True

    def __init__(self, level: int = 10):
        self.level = level

    def setup(self, worker: Any) -> None:
        # A platform without nice (OSError): solves and pages share the cores evenly.
        with contextlib.suppress(OSError):
            os.nice(max(0, self.level - os.nice(0)))
