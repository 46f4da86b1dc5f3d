"""Single changes to an input folder, as Hypothesis strategies, for ``test_inputs_property``.

A mutation is a small frozen record (so Hypothesis prints it readably and ``@example`` can name
one) with ``apply(folder)``: a cell, a row, a column, a type, a whole file, its encoding, its
separator, a folder in its place. ``model.json`` changes go through its JSON tree and
``run.toml`` changes through its keys, so that types, not only text, get mutated.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

CSV_FILES = ("catalog.csv", "last_sheet.csv", "volumes.csv", "history.csv")
LONG = "x" * 5000
SPECIAL_CELLS = ("", " ", "abc", "-1", "0", "-0", "1e308", "-1e308", "1e-308", "nan", "NaN", "inf", "-inf",
                 "1e7", "10000001", "12,5", "1_000", "0x10", "=1+1", "@SUM(A1)", LONG, "true", "None", "null",
                 "2025-13", "\u00e9t\u00e9", "\x00", '"', "a|b", "CAR-DC-4K|CAR-DC-4K", "|", "3.5", "99999999999")


@dataclass(frozen=True)
class CellChange:
    file: str
    row: int     # data row (0 = first row under the header), taken modulo the rows
    column: int  # taken modulo the columns
    value: str

    def apply(self, folder: Path) -> None:
        rows = read_rows(folder / self.file)
        if len(rows) < 2:
            return
        r = 1 + self.row % (len(rows) - 1)
        rows[r][self.column % len(rows[r])] = self.value
        write_rows(folder / self.file, rows)


@dataclass(frozen=True)
class RowChange:
    file: str
    kind: str  # drop, duplicate, blank, short, long, header_only, drop_header
    row: int

    def apply(self, folder: Path) -> None:
        rows = read_rows(folder / self.file)
        r = 1 + self.row % max(len(rows) - 1, 1)
        if self.kind == "drop" and len(rows) > 1:
            del rows[r]
        elif self.kind == "duplicate" and len(rows) > 1:
            rows.insert(r, list(rows[r]))
        elif self.kind == "blank":
            rows.insert(r, [])
        elif self.kind == "short" and len(rows) > 1:
            rows[r] = rows[r][:-1]
        elif self.kind == "long" and len(rows) > 1:
            rows[r] = rows[r] + ["extra"]
        elif self.kind == "header_only":
            rows = rows[:1]
        elif self.kind == "drop_header":
            rows = rows[1:]
        write_rows(folder / self.file, rows)


@dataclass(frozen=True)
class ColumnChange:
    file: str
    kind: str  # drop, rename, duplicate, add, swap
    column: int

    def apply(self, folder: Path) -> None:
        rows = read_rows(folder / self.file)
        c = self.column % len(rows[0])
        if self.kind == "drop":
            rows = [[x for j, x in enumerate(r) if j != c] for r in rows]
        elif self.kind == "rename":
            rows[0][c] = rows[0][c].upper() + "_"
        elif self.kind == "duplicate":
            rows = [r + [r[c]] if c < len(r) else r for r in rows]
        elif self.kind == "add":
            rows = [rows[0] + ["colour"]] + [r + ["red"] for r in rows[1:]]
        elif self.kind == "swap":
            d = (c + 1) % len(rows[0])
            for r in rows[1:]:
                if max(c, d) < len(r):
                    r[c], r[d] = r[d], r[c]
        write_rows(folder / self.file, rows)


@dataclass(frozen=True)
class FileChange:
    file: str
    kind: str  # truncate, truncate_line, bom, semicolon, tab, latin1, garbage, empty, folder, crlf, missing
    at: float = 0.5  # where to cut, as a share of the file

    def apply(self, folder: Path) -> None:
        path = folder / self.file
        raw = path.read_bytes() if path.is_file() else b""
        if self.kind == "truncate":
            path.write_bytes(raw[: int(len(raw) * self.at)])
        elif self.kind == "truncate_line":
            lines = raw.splitlines(keepends=True)
            path.write_bytes(b"".join(lines[: int(len(lines) * self.at)]))
        elif self.kind == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + raw)
        elif self.kind in ("semicolon", "tab"):
            path.write_bytes(raw.replace(b",", b";" if self.kind == "semicolon" else b"\t"))
        elif self.kind == "latin1":
            path.write_bytes(raw.decode("utf-8").replace("a", "\u00e4", 1).encode("latin-1", "replace"))
        elif self.kind == "garbage":
            path.write_bytes(bytes(range(256)) * 3)
        elif self.kind == "empty":
            path.write_bytes(b"")
        elif self.kind == "crlf":
            path.write_bytes(raw.replace(b"\n", b"\r\n"))
        elif self.kind == "folder":
            path.unlink(missing_ok=True)
            path.mkdir()
            (path / "inside.txt").write_text("a folder where a file belongs")
        elif self.kind == "missing":
            path.unlink(missing_ok=True)


# -- JSON (model.json) --------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e308, -1e308, 5e-324, LONG]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class JsonChange:
    path: tuple[Any, ...]  # keys and indices from the top of model.json; an int is taken modulo the length
    value: Any = None
    delete: bool = False

    def apply(self, folder: Path) -> None:
        file = folder / "model.json"
        raw = json.loads(file.read_text(encoding="utf-8"))
        node = raw
        for step in self.path[:-1]:
            node = _child(node, step)
            if node is None:
                return
        last = self.path[-1]
        if isinstance(node, list) and node:
            last = last % len(node) if isinstance(last, int) else 0
        elif isinstance(node, list) or not isinstance(node, dict):
            return
        elif isinstance(last, int):
            keys = sorted(node)
            if not keys:
                return
            last = keys[last % len(keys)]
        if self.delete:
            del node[last]
        else:
            node[last] = self.value
        file.write_text(json.dumps(raw, allow_nan=True), encoding="utf-8")


def _child(node: Any, step: Any) -> Any:
    if isinstance(node, list):
        return node[step % len(node)] if node and isinstance(step, int) else None
    if isinstance(node, dict):
        if isinstance(step, int):
            keys = sorted(node)
            return node[keys[step % len(keys)]] if keys else None
        return node.get(step)
    return None


JSON_PATHS = st.sampled_from([
    ("kind",), ("currency",), ("segments",), ("fit",), ("segments", 0), ("segments", 0, "name"),
    ("segments", 1, "share"), ("segments", 2, "intercept"), ("segments", 3, "price_coef"),
    ("segments", 0, "size_coef"), ("segments", 1, "span_bonus"), ("segments", 2, "appeal"),
    ("fit", "warnings"), ("fit", "price_range"), ("fit", "discount_range"), ("fit", "months"),
    ("fit", "segments"), ("fit", "price_range", "min"), ("fit", "discount_range", "max"), ("fit", "holdout"),
]) | st.tuples(st.just("segments"), st.integers(0, 3), st.just("appeal"), st.integers(0, 30)) \
   | st.tuples(st.just("fit"), st.just("segments"), st.integers(0, 3),
               st.sampled_from(["params", "covariance", "estimate", "std_error"])) \
   | st.tuples(st.just("fit"), st.just("segments"), st.integers(0, 3), st.just("covariance"), st.integers(0, 40),
               st.integers(0, 40))
json_changes = st.builds(JsonChange, JSON_PATHS, json_values, st.booleans())


# -- TOML (run.toml) ----------------------------------------------------------------------------
SETTING_KEYS = (("offer", "max_bundles"), ("offer", "min_items"), ("offer", "max_items"), ("offer", "required_zones"),
                ("offer", "one_per_category"), ("offer", "pinned"), ("offer", "banned"), ("price", "discounts"),
                ("price", "rounding"), ("price", "min_margin"), ("price", "max_change"), ("target", "attach_rate"),
                ("market", "buyers"), ("solver", "time_limit"), ("solver", "rel_gap"))
toml_scalars = (st.integers(-10**20, 10**20) | st.floats() | st.booleans() | st.text(max_size=10)
                | st.sampled_from([0, 1, 2, 3, 1000000, 0.0, 1e308, -1e308, math.nan, math.inf, "five", "car", LONG,
                                   "CAR-DC-4K", "charm", "none", 0.5, 0.99, 1e-9]))
toml_values = toml_scalars | st.lists(toml_scalars, max_size=4)


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_literal(v) for v in value) + "]"


@dataclass(frozen=True)
class SettingChange:
    key: tuple[str, str]
    value: Any = None
    delete: bool = False

    def apply(self, folder: Path) -> None:
        file = folder / "run.toml"
        out, section = [], None
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                section = line.strip("[] ")
            elif section == self.key[0] and line.split("=")[0].strip() == self.key[1]:
                if self.delete:
                    continue
                line = f"{self.key[1]} = {toml_literal(self.value)}"
            out.append(line)
        file.write_text("\n".join(out) + "\n", encoding="utf-8")


setting_changes = st.builds(SettingChange, st.sampled_from(SETTING_KEYS), toml_values, st.booleans())

# -- CSV helpers and strategies -------------------------------------------------------------------
cell_values = st.sampled_from(SPECIAL_CELLS) | st.text(max_size=15) | st.floats().map(repr) \
    | st.integers(-10**12, 10**12).map(str)


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def csv_changes(files: tuple[str, ...]) -> st.SearchStrategy:
    file = st.sampled_from(files)
    return st.one_of(
        st.builds(CellChange, file, st.integers(0, 200), st.integers(0, 20), cell_values),
        st.builds(RowChange, file, st.sampled_from(["drop", "duplicate", "blank", "short", "long", "header_only",
                                                    "drop_header"]), st.integers(0, 200)),
        st.builds(ColumnChange, file, st.sampled_from(["drop", "rename", "duplicate", "add", "swap"]),
                  st.integers(0, 20)),
    )


def file_changes(files: tuple[str, ...]) -> st.SearchStrategy:
    return st.builds(FileChange, st.sampled_from(files),
                     st.sampled_from(["truncate", "truncate_line", "bom", "semicolon", "tab", "latin1", "garbage",
                                      "empty", "folder", "crlf", "missing"]),
                     st.floats(0.0, 1.0))


def fresh_copy(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)
    return target
