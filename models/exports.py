"""Package facades that load their names on first use (PEP 562).

A package's ``__init__`` lists each public name and the module it comes from, then asks for the two
module hooks: ``__getattr__, __dir__ = lazy_exports(__name__, _WHERE)``. ``from pricing.files
import PriceSheet`` then imports ``pricing.files.sheet`` alone, not every module of the package, so a
command loads only what it uses (``python -m pricing optimize`` no longer loads the ERP export,
the accounts or Dask). Generic, here at the bottom so that every layer's facade may use it.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the module ``package``, serving each name of
    ``where`` (name -> module holding it) from its module, imported on first use and then kept
    as an attribute of ``package``."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
