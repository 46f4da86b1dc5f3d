"""Run settings: offer rules, price ladder, target, market size and solver limits.

Read from a TOML file whose sections and keys are those of the spec; any key can then be
overridden (CLI flags, app controls) with :meth:`Settings.replace`, which validates again.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import InputError, clip, quote
from models.limits import MAX_BUYERS, MAX_TEXT
from models.tables import read_text
from pricing.domain.catalog import ZONES

__all__ = ["Settings", "DEFAULT_CONFIG", "ROUNDINGS"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "defaults.toml"
ROUNDINGS = ("none", "charm")

# TOML section of each setting; the spec's file layout.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "offer": ("max_bundles", "min_items", "max_items", "required_zones", "one_per_category", "pinned", "banned",
              "max_bundles_per_sku", "max_shared_skus"),
    "price": ("discounts", "rounding", "min_margin", "max_change", "min_price_gap"),
    "target": ("attach_rate",),
    "goals": ("margin_rate_points", "devices_per_buyer", "target_confidence"),
    "market": ("buyers",),
    "solver": ("time_limit", "rel_gap"),
}
# Keys a settings file may leave out (they default to "none"). Every other key must be there:
# a file cut short at a line boundary is still valid TOML, and silently running it on defaults
# would price with settings nobody chose.
# pinned and banned may be left out, and so may the keys added after the spec's first version (offer
# rules and goals), so that a settings file written before them still reads (with their defaults).
_OPTIONAL_KEYS = frozenset({"pinned", "banned", "max_bundles_per_sku", "max_shared_skus", "min_price_gap",
                            "margin_rate_points", "devices_per_buyer", "target_confidence"})

# Documented ranges (README, "Input limits"); wide for real use, narrow enough to keep the
# candidate count, the solver and the arithmetic sane.
MAX_BUNDLES = 500  # an offer of single products can hold hundreds (the RS2 instances of benchmarks/)
MAX_ITEMS = 10
MAX_DISCOUNTS = 1_000
MAX_TIME_LIMIT = 86_400.0
_LISTS = {"required_zones": "zones", "pinned": "SKUs", "banned": "SKUs", "discounts": "discounts"}


@dataclass(frozen=True)
class Settings:
    """Everything a run is configured with. Money in CNY; rates and discounts as fractions.

    ``pinned`` SKUs must each appear in at least one bundle of the offer; ``banned`` SKUs in
    none. ``attach_rate`` is the target share of car buyers who take a bundle; ``buyers`` the
    car buyers a month.

    ``deadline`` is not a setting of the file: a command that must end within ``time_limit``
    as a whole sets it to the wall-clock time (``time.time()``, seconds) by which the solver
    must stop, so that candidates, pruning and every solve share one budget
    (:func:`pricing.optimizer.budget.solve_deadline`). ``None``: ``optimize`` sets it when it
    starts, so that ``time_limit`` holds for the call.

    Offer rules (``None``: off): ``max_bundles_per_sku`` bundles at most hold any one SKU;
    ``max_shared_skus`` SKUs at most are common to any two bundles; ``min_price_gap``: any two
    bundle prices differ by at least this share of the lower one. Goals (``None``: off):
    ``margin_rate_points``: IoT gross-margin rate with the offer at least the no-bundle rate plus
    this many points; ``devices_per_buyer``: connected devices per car buyer at least this;
    ``target_confidence``: the attach target and the goals hold with at least this probability
    under the fitted coefficient uncertainty.
    """

    max_bundles: int = 5
    min_items: int = 2
    max_items: int = 4
    required_zones: tuple[str, ...] = ("car", "home")
    one_per_category: bool = True
    pinned: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    discounts: tuple[float, ...] = (0.05, 0.08, 0.10, 0.12, 0.15, 0.18, 0.20, 0.25)
    rounding: str = "charm"
    min_margin: float = 0.08
    max_change: float = 0.10
    attach_rate: float = 0.15
    buyers: float = 28000
    time_limit: float = 60.0
    rel_gap: float = 1e-4
    max_bundles_per_sku: int | None = None
    max_shared_skus: int | None = None
    min_price_gap: float | None = None
    margin_rate_points: float | None = None
    devices_per_buyer: float | None = None
    target_confidence: float | None = None
    source: str = field(default="settings", compare=False)
    deadline: float | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, what in _LISTS.items():
            value = getattr(self, name)
            # A string is iterable: "five" would otherwise be read letter by letter.
            if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple, set, frozenset)):
                self._fail(name, f"must be a list of {what}, e.g. {'[0.05, 0.10]' if what == 'discounts' else '[]'}"
                                 f", got {quote(value)}")
            object.__setattr__(self, name, tuple(value))
        self._validate()

    # -- validation -------------------------------------------------------------------------
    def _fail(self, key: str, problem: str) -> None:
        section = next((s for s, keys in _SECTIONS.items() if key in keys), "")
        raise InputError(self.source, f"[{section}] {key}: {problem}")

    def _validate(self) -> None:
        def integer(key: str, minimum: int, maximum: int) -> None:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
                self._fail(key, f"must be a whole number from {minimum} to {maximum}, got {quote(value)}")

        def number(key: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> None:
            value = getattr(self, key)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if ok:
                ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
            if not ok:
                lo = "(" if low_open else "["
                hi = ")" if high_open else "]"
                self._fail(key, f"must be a number in {lo}{low:g}, {high:g}{hi}, got {quote(value)}")

        integer("max_bundles", 1, MAX_BUNDLES)
        integer("min_items", 1, MAX_ITEMS)
        integer("max_items", 1, MAX_ITEMS)
        if self.max_items < self.min_items:
            self._fail("max_items", f"must be >= min_items ({self.min_items}), got {self.max_items}")
        for zone in self.required_zones:
            if not isinstance(zone, str) or zone not in ZONES:
                self._fail("required_zones", f"must list zones among {', '.join(ZONES)}, got {quote(zone)}")
        if len(set(self.required_zones)) != len(self.required_zones):
            self._fail("required_zones", f"lists a zone twice: {quote(list(self.required_zones))}")
        if not isinstance(self.one_per_category, bool):
            self._fail("one_per_category", f"must be true or false, got {quote(self.one_per_category)}")
        if not self.discounts or len(self.discounts) > MAX_DISCOUNTS:
            self._fail("discounts", f"must list 1 to {MAX_DISCOUNTS} discounts, got {len(self.discounts)}")
        for d in self.discounts:
            if isinstance(d, bool) or not isinstance(d, (int, float)) or not (0 <= d < 1):
                self._fail("discounts", f"each discount must be a fraction in [0, 1), got {quote(d)}")
        if not isinstance(self.rounding, str) or self.rounding not in ROUNDINGS:
            self._fail("rounding", f"must be one of {', '.join(ROUNDINGS)}, got {quote(self.rounding)}")
        number("min_margin", -100.0, 1.0, high_open=True)
        number("max_change", 0.0, 10.0)
        number("attach_rate", 0.0, 1.0, high_open=True)
        number("buyers", 0.0, MAX_BUYERS, low_open=True)
        number("time_limit", 0.0, MAX_TIME_LIMIT, low_open=True)
        number("rel_gap", 0.0, 0.5)
        if self.deadline is not None and not (isinstance(self.deadline, float) and math.isfinite(self.deadline)):
            raise ValueError(f"deadline must be a wall-clock time in seconds, got {self.deadline!r}")
        for key in ("pinned", "banned"):
            for sku in getattr(self, key):
                if not isinstance(sku, str) or not sku.strip() or len(sku) > MAX_TEXT:
                    self._fail(key, f"must be a list of SKUs (text of 1 to {MAX_TEXT} characters), got {quote(sku)}")
        self._validate_rules_and_goals(integer, number)
        overlap = set(self.pinned) & set(self.banned)
        if overlap:
            self._fail("pinned", f"SKU(s) {quote(', '.join(sorted(overlap)))} cannot be both pinned and banned")

    def _validate_rules_and_goals(self, integer, number) -> None:
        """The optional keys: checked only when set."""
        if self.max_bundles_per_sku is not None:
            integer("max_bundles_per_sku", 1, MAX_BUNDLES)
        if self.max_shared_skus is not None:
            integer("max_shared_skus", 0, MAX_ITEMS)
        if self.min_price_gap is not None:
            number("min_price_gap", 0.0, 1.0, high_open=True)
        if self.margin_rate_points is not None:
            number("margin_rate_points", -100.0, 100.0)
        if self.devices_per_buyer is not None:
            number("devices_per_buyer", 0.0, 1000.0)
        if self.target_confidence is not None:
            number("target_confidence", 0.0, 1.0, low_open=True, high_open=True)

    @property
    def has_offer_rules(self) -> bool:
        """True when a rule can bind bundles of an offer to each other: a SKU cap below the
        bundle count, a shared-SKU cap below ``max_items - 1`` (two distinct sets share at most
        that many), or a price gap above 0."""
        return ((self.max_bundles_per_sku is not None and self.max_bundles_per_sku < self.max_bundles)
                or (self.max_shared_skus is not None and self.max_shared_skus < self.max_items - 1)
                or (self.min_price_gap is not None and self.min_price_gap > 0))

    # -- construction -----------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Settings":
        """A validated copy with some settings changed; ``None`` values are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_toml(cls, path: str | Path | None = None) -> "Settings":
        """Read settings from TOML: every section and key of the spec (``pinned`` and ``banned``
        may be left out), so that a file cut short is refused rather than run on defaults.

        Raises
        ------
        InputError
            For an unreadable file, a missing or unknown section or key, or a value out of range.
        """
        path = Path(path) if path is not None else DEFAULT_CONFIG
        name = path.name
        try:
            raw = tomllib.loads(read_text(path, "a settings file in TOML (start from pricing/defaults.toml)"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(name, f"not valid TOML ({clip(str(exc), 120)})") from None
        values: dict[str, Any] = {}
        for section, body in raw.items():
            if section not in _SECTIONS:
                raise InputError(name, f"unknown section [{clip(section)}]; expected {', '.join(_SECTIONS)}")
            if not isinstance(body, dict):
                raise InputError(name, f"[{section}] must be a table of settings, got {quote(body)}")
            for key, value in body.items():
                if key not in _SECTIONS[section]:
                    raise InputError(name, f"[{section}] unknown key {quote(key)}; expected {', '.join(_SECTIONS[section])}")
                values[key] = value
        settings = cls(source=name, **values)
        missing = [f"[{s}] {k}" for s, keys in _SECTIONS.items() for k in keys
                   if k not in values and k not in _OPTIONAL_KEYS]
        if missing:
            raise InputError(name, f"missing setting(s) {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}; "
                                   "a settings file sets every key (start from pricing/defaults.toml) - was it cut short?")
        return settings

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Settings grouped by TOML section, JSON-ready."""
        return {
            section: {k: (list(v) if isinstance(v, tuple) else v) for k in keys for v in [getattr(self, k)]}
            for section, keys in _SECTIONS.items()
        }
