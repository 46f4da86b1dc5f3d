"""Every bad input gives one InputError naming file, row and column; through the CLI: exit 2,
one line on stderr, no traceback, nothing written. An unreachable target: exit 3, one line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from models.errors import InputError
from pricing.cli import EXIT_BAD_INPUT, EXIT_TARGET_UNREACHABLE, main
from pricing.domain.problem import Problem
from pricing.domain.settings import Settings

from conftest import DATA

CONFIG_NAME = "run.toml"


def edit_lines(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


def edit_cell(file: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell of a CSV; ``row`` counted as a spreadsheet shows it (header = 1)."""

    def apply(data: Path) -> None:
        def change(lines: list[str]) -> list[str]:
            header = lines[0].split(",")
            cells = lines[row - 1].split(",")
            cells[header.index(column)] = value
            lines[row - 1] = ",".join(cells)
            return lines

        edit_lines(data / file, change)

    return apply


def drop_column(column: str) -> Callable[[Path], None]:
    def apply(data: Path) -> None:
        def change(lines: list[str]) -> list[str]:
            k = lines[0].split(",").index(column)
            return [",".join(c for j, c in enumerate(line.split(",")) if j != k) for line in lines]

        edit_lines(data / "catalog.csv", change)

    return apply


def add_column(column: str) -> Callable[[Path], None]:
    def apply(data: Path) -> None:
        edit_lines(data / "catalog.csv", lambda lines: [lines[0] + "," + column] + [x + ",red" for x in lines[1:]])

    return apply


def duplicate_sku(data: Path) -> None:
    # Row 5 repeats the SKU of row 2.
    def change(lines: list[str]) -> list[str]:
        cells = lines[4].split(",")
        cells[0] = lines[1].split(",")[0]
        lines[4] = ",".join(cells)
        return lines

    edit_lines(data / "catalog.csv", change)


def header_only(data: Path) -> None:
    edit_lines(data / "catalog.csv", lambda lines: lines[:1])


def edit_model(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(data: Path) -> None:
        raw = json.loads((data / "model.json").read_text(encoding="utf-8"))
        change(raw)
        (data / "model.json").write_text(json.dumps(raw), encoding="utf-8")

    return apply


def shares_over_one(raw: dict) -> None:
    raw["segments"][0]["share"] += 0.1


def drop_appeal(raw: dict) -> None:
    del raw["segments"][1]["appeal"]["HOME-EVC-7"]


def negative_price_coef(raw: dict) -> None:
    raw["segments"][2]["price_coef"] = -0.001


def write_config(text: str) -> Callable[[Path], None]:
    def apply(data: Path) -> None:
        (data / CONFIG_NAME).write_text(text, encoding="utf-8")

    return apply


def unknown_sku_on_last_sheet(data: Path) -> None:
    def change(lines: list[str]) -> list[str]:
        lines[2] = lines[2].replace("CAR-DC-4K|HOME-CAM-C700", "CAR-DC-4K|HOME-NOPE-1")
        return lines

    edit_lines(data / "last_sheet.csv", change)


# (defect, message pattern); every message names the file, and a CSV cell by row and column.
CASES = [
    pytest.param(drop_column("unit_cost"),
                 r"^catalog\.csv row 1: missing column\(s\) unit_cost; expected columns sku, name", id="missing-column"),
    pytest.param(add_column("colour"),
                 r"^catalog\.csv row 1: unexpected column\(s\) colour; expected columns", id="extra-column"),
    pytest.param(edit_cell("catalog.csv", 3, "list_price", "five hundred"),
                 r"^catalog\.csv row 3, column list_price: must be a number, got 'five hundred'$",
                 id="non-number-price"),
    pytest.param(edit_cell("catalog.csv", 4, "unit_cost", "-2.5"),
                 r"^catalog\.csv row 4, column unit_cost: must be >= 0, got '-2\.5'$", id="negative-cost"),
    pytest.param(duplicate_sku,
                 r"^catalog\.csv row 5, column sku: duplicate SKU 'CAR-DC-4K', first seen in row 2$",
                 id="duplicate-sku"),
    pytest.param(edit_cell("catalog.csv", 6, "zone", "garage"),
                 r"^catalog\.csv row 6, column zone: must be one of car, home, human, got 'garage'$",
                 id="unknown-zone"),
    pytest.param(header_only, r"^catalog\.csv: the catalog has no SKU rows", id="empty-catalog"),
    pytest.param(edit_model(shares_over_one), r"^model\.json: segment shares must sum to 1, got 1\.1$",
                 id="shares-not-one"),
    pytest.param(edit_model(drop_appeal),
                 r"^model\.json: segment 'SU7 Pro' has no appeal for active SKU 'HOME-EVC-7'", id="missing-appeal"),
    pytest.param(edit_model(negative_price_coef),
                 r"^model\.json: segment 'SU7 Max', field price_coef: must be >= 0 .*got -0\.001$",
                 id="negative-price-coef"),
    pytest.param(unknown_sku_on_last_sheet,
                 r"^last_sheet\.csv row 3, column skus: unknown SKU 'HOME-NOPE-1'", id="last-sheet-unknown-sku"),
    pytest.param(write_config("[price\ndiscounts = [0.1]\n"),
                 rf"^{CONFIG_NAME}: not valid TOML \(.*line 1", id="unreadable-toml"),
    pytest.param(write_config("[price]\ndiscounts = [0.05, 1.0]\n"),
                 rf"^{CONFIG_NAME}: \[price\] discounts: each discount must be a fraction in \[0, 1\), got 1\.0$",
                 id="discount-out-of-range"),
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA, copy)
    return copy


def load(data: Path) -> Problem:
    config = data / CONFIG_NAME
    settings = Settings.from_toml(config if config.exists() else None)
    return Problem.load(data, settings)


def test_shipped_data_loads(data: Path) -> None:
    problem = load(data)
    assert len(problem.catalog) == 27
    assert len(problem.last_prices) == 5


@pytest.mark.parametrize(("defect", "pattern"), CASES)
def test_bad_input_raises_one_clear_error(data: Path, defect, pattern: str) -> None:
    defect(data)
    with pytest.raises(InputError, match=pattern) as info:
        load(data)
    assert "\n" not in str(info.value)


def run_cli(data: Path, out: Path, *extra: str) -> int:
    argv = ["optimize", "--data", str(data), "--out", str(out)]
    if (data / CONFIG_NAME).exists():
        argv += ["--config", str(data / CONFIG_NAME)]
    return main(argv + list(extra))


@pytest.mark.parametrize(("defect", "pattern"), CASES)
def test_cli_bad_input_exits_2_with_one_line(data: Path, tmp_path: Path, capsys, defect, pattern: str) -> None:
    defect(data)
    out = tmp_path / "out"

    code = run_cli(data, out)

    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert re.search(pattern.lstrip("^"), lines[0]), lines[0]
    assert captured.out == ""
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("flags", "pattern"),
    [
        pytest.param(["--discounts", "0.1,1.5"], r"discounts: each discount must be a fraction in \[0, 1\), got 1\.5",
                     id="discount-flag"),
        pytest.param(["--attach-target", "1.2"], r"attach_rate: must be a number in \[0, 1\), got 1\.2",
                     id="target-flag"),
        pytest.param(["--bundles", "two"], r"--bundles: invalid int value: 'two'", id="non-integer-flag"),
    ],
)
def test_cli_bad_flag_exits_2_naming_the_flag_value(data: Path, tmp_path: Path, capsys, flags, pattern) -> None:
    out = tmp_path / "out"
    code = run_cli(data, out, *flags)
    captured = capsys.readouterr()
    assert code == EXIT_BAD_INPUT
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert re.search(pattern, lines[0]), lines[0]
    if "usage error" not in lines[0]:  # the value came from the command line, not the TOML file
        assert lines[0].startswith("bad input: command-line flags (over defaults.toml): "), lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_cli_unreachable_target_exits_3_naming_best_attach(data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"

    code = run_cli(data, out, "--attach-target", "0.9")

    captured = capsys.readouterr()
    assert code == EXIT_TARGET_UNREACHABLE
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    match = re.search(r"attach target 90\.00% cannot be reached: the highest attach rate the rules allow is "
                      r"(\d+\.\d\d)%", lines[0])
    assert match, lines[0]
    best = float(match.group(1)) / 100
    assert 0.0 < best < 0.9
    assert "Traceback" not in captured.err
    assert not out.exists() or not any(out.iterdir())
