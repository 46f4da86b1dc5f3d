"""Writing files all or none, and the JSON form every record uses."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["write_outputs", "dump_json"]


def write_outputs(out_dir: Path, writers: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write several files so that either all of them land or none does.

    Each writer fills a temporary file beside its target; only when every writer has succeeded
    are the files renamed into place.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, Path] = {}
    try:
        for name, writer in writers.items():
            tmp = out_dir / f".{name}.{os.getpid()}.part"
            temps[name] = tmp
            writer(tmp)
        targets = []
        for name, tmp in temps.items():
            os.replace(tmp, out_dir / name)
            targets.append(out_dir / name)
        return targets
    finally:
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
