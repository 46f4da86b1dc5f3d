"""Command-line flags that override the settings file, one per key, shared by the commands that solve."""

from __future__ import annotations

import argparse
import getpass

from models.errors import quote
from pricing.domain.settings import Settings

__all__ = ["add_settings_flags", "settings_from_args"]


def _csv_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {quote(text)}") from None


def _csv_words(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that override the TOML settings, one per key."""
    g = parser.add_argument_group("settings (override the --config file)")
    g.add_argument("--attach-target", type=float, dest="attach_rate", help="share of car buyers, e.g. 0.15")
    g.add_argument("--bundles", type=int, dest="max_bundles", help="bundles offered, at most")
    g.add_argument("--buyers", type=float, help="car buyers a month")
    g.add_argument("--min-items", type=int, help="SKUs per bundle, at least")
    g.add_argument("--max-items", type=int, help="SKUs per bundle, at most")
    g.add_argument("--required-zones", type=_csv_words, help="e.g. car,home; '' for none")
    g.add_argument("--any-category-mix", action="store_const", const=False, dest="one_per_category",
                   help="allow two SKUs of one category in a bundle")
    g.add_argument("--pin", action="append", dest="pinned", metavar="SKU", help="SKU that must be offered (repeatable)")
    g.add_argument("--ban", action="append", dest="banned", metavar="SKU", help="SKU never offered (repeatable)")
    g.add_argument("--discounts", type=_csv_floats, help="ladder, e.g. 0.05,0.10,0.15")
    g.add_argument("--rounding", choices=("none", "charm"))
    g.add_argument("--min-margin", type=float, help="(price - cost) / price, at least")
    g.add_argument("--max-change", type=float, help="largest move against the last approved price")
    g.add_argument("--max-bundles-per-sku", type=int, help="offer rule: bundles that may hold one SKU, at most")
    g.add_argument("--max-shared-skus", type=int, help="offer rule: SKUs two bundles may share, at most")
    g.add_argument("--min-price-gap", type=float,
                   help="offer rule: two bundle prices differ by at least this share of the lower; 0 turns it off")
    g.add_argument("--margin-rate-points", type=float,
                   help="goal: IoT gross-margin rate at least the no-bundle rate plus this many points")
    g.add_argument("--devices-per-buyer", type=float, help="goal: connected devices per car buyer, at least")
    g.add_argument("--target-confidence", type=float,
                   help="goal: probability (e.g. 0.9) that the target and goals hold under the fit's uncertainty")
    g.add_argument("--time-limit", type=float, help="seconds for the whole command (reading, candidates, pruning, solves)")
    g.add_argument("--rel-gap", type=float, help="proven relative gap")


_SETTING_KEYS = ("attach_rate", "max_bundles", "buyers", "min_items", "max_items", "required_zones",
                 "one_per_category", "pinned", "banned", "discounts", "rounding", "min_margin", "max_change",
                 "time_limit", "rel_gap", "max_bundles_per_sku", "max_shared_skus", "min_price_gap",
                 "margin_rate_points", "devices_per_buyer", "target_confidence")


def settings_from_args(args: argparse.Namespace) -> Settings:
    base = Settings.from_toml(args.config)
    changes = {k: getattr(args, k, None) for k in _SETTING_KEYS}
    if changes.get("required_zones") is None and getattr(args, "required_zones", None) == ():
        changes["required_zones"] = ()
    if all(v is None for v in changes.values()):
        return base
    # A value that breaks a rule now came from a flag: say so rather than blame the TOML file.
    return base.replace(source=f"command-line flags (over {base.source})", **changes)


def os_user() -> str:
    """The operating-system account running the command (who ran it, when not given)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (some containers)
        return ""
