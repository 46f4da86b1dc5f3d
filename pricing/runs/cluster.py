"""The Dask client every fan-out uses: a local cluster sized to the machine, or a running one.

One small function so that the monthly run and, later, the app's solves share it.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

from models.errors import InputError

__all__ = ["get_client", "machine_cores", "check_scheduler"]


def get_client(address: str | None = None, n_workers: int | None = None) -> Any:
    """A ``distributed.Client``.

    Parameters
    ----------
    address : a running scheduler (``tcp://host:8786``); ``None`` starts a ``LocalCluster`` of
        worker processes, one thread each (the solves are CPU-bound and hold the interpreter
        lock), on 127.0.0.1 with the dashboard off, sized to the machine's cores.
    n_workers : workers of the local cluster (default: the cores this process may use).

    The caller closes the client (and with it a local cluster): ``with get_client() as client``.
    """
    from distributed import Client, LocalCluster  # loaded only when a run fans out

    if address:
        return Client(address, timeout="30s")
    # The scheduler's own HTTP endpoints (health, metrics) would otherwise take port 8787 when free:
    # a free port on 127.0.0.1 instead, like every other server this project starts.
    cluster = LocalCluster(n_workers=n_workers or machine_cores(), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, scheduler_port=0,
                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    return _Owned(Client(cluster), cluster)


def machine_cores() -> int:
    """Cores this process may run on (the container's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Owned:
    """A client that also closes the local cluster it started."""

    def __init__(self, client: Any, cluster: Any) -> None:
        self.client, self.cluster = client, cluster

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Raise :class:`InputError` unless a TCP connection to the scheduler ``address``
    (``tcp://host:port``, or ``host:port``) opens within ``timeout`` seconds: a wrong address is
    the user's mistake, found before anything is written."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        raise InputError("--scheduler", f"not an address like tcp://host:8786, got {address!r}") from None
    if not host:
        raise InputError("--scheduler", f"not an address like tcp://host:8786, got {address!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise InputError("--scheduler", f"no Dask scheduler answers at {address} ({exc.strerror or exc})") from None
