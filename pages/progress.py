"""Queued solves on a page: one status line that refreshes itself (a fragment, so the rest of the
page is not drawn again) until every job is over, then the whole page runs once to show them."""

from __future__ import annotations

from typing import Sequence

import streamlit as st

from pages.common import solve_queue
from pricing.app.jobs import Job, describe, describe_group

__all__ = ["REFRESH_SECONDS", "watch"]

# How often a waiting page asks the queue where its jobs are (seconds): often enough to feel live,
# seldom enough that twenty waiting pages cost the server little.
REFRESH_SECONDS = 2.0


def watch(jobs: Sequence[Job], label: str) -> None:
    """Draw where ``jobs`` are ("queued, N ahead of you", "solving, X s"), refreshed every
    :data:`REFRESH_SECONDS` without blocking anything; rerun the page when they are all over."""
    _status(list(jobs), label)


@st.fragment(run_every=REFRESH_SECONDS)
def _status(jobs: list[Job], label: str) -> None:
    if all(job.over for job in jobs):
        st.rerun(scope="app")
    queue = solve_queue()
    statuses = [queue.status(job) for job in jobs]
    line = describe(statuses[0]) if len(statuses) == 1 else describe_group(statuses)
    st.info(f"{label}: {line}", icon=":material/hourglass_top:")
