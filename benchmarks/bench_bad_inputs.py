"""Seeded single changes to the shipped input files, each run through ``optimize`` and ``fit``.

Reproduces issue 14's "150 seeded single changes: 12 fail" and checks the fix: every run must
end in exit 0 with a complete output set, or exit 2/3 with one clear line on stderr and nothing
written (exit 1 only for an honest "no offer within the time limit"). A traceback, a message
over 300 characters, a second line or a partial output set is a failure.

Run: ``PYTHONPATH=. python -m benchmarks.bench_bad_inputs [--cases 150] [--seed 14]``.
Runs in-process (``pricing.cli.main``) with ``--time-limit 20``; a command still running 30 s
after its limit counts as a failure (the issue saw 80 to 118 s against a 60 s limit). The
figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CSV_FILES = ("catalog.csv", "last_sheet.csv", "history.csv", "volumes.csv")
LIMIT = 20  # --time-limit of every optimize run, seconds
BAD_CELLS = ("", "abc", "-1", "0", "1e308", "-1e308", "nan", "inf", "1e7", "12,5", "=1+1", "x" * 5000, "3.5", "  ")


def _rows(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8-sig").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def csv_cell(name: str) -> Callable[[Path, random.Random], str]:
    def apply(data: Path, rng: random.Random) -> str:
        lines = _rows(data / name)
        r = rng.randrange(1, len(lines))
        cells = lines[r].split(",")
        c = rng.randrange(len(cells))
        value = rng.choice(BAD_CELLS)
        cells[c] = value
        lines[r] = ",".join(cells)
        _write(data / name, lines)
        return f"{name} row {r + 1} col {lines[0].split(',')[c]} = {value[:20]!r}"
    return apply


def csv_structure(name: str) -> Callable[[Path, random.Random], str]:
    def apply(data: Path, rng: random.Random) -> str:
        path = data / name
        lines = _rows(path)
        kind = rng.choice(["drop_col", "sep_semicolon", "sep_tab", "truncate", "dup_row", "bom", "latin1",
                           "folder", "empty", "extra_cells"])
        if kind == "drop_col":
            k = rng.randrange(len(lines[0].split(",")))
            _write(path, [",".join(c for j, c in enumerate(x.split(",")) if j != k) for x in lines])
        elif kind in ("sep_semicolon", "sep_tab"):
            sep = ";" if kind == "sep_semicolon" else "\t"
            _write(path, [x.replace(",", sep) for x in lines])
        elif kind == "truncate":
            text = path.read_text(encoding="utf-8")
            path.write_text(text[: rng.randrange(1, len(text))], encoding="utf-8")
        elif kind == "dup_row":
            _write(path, lines + [lines[-1]])
        elif kind == "bom":
            path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        elif kind == "latin1":
            path.write_bytes(path.read_bytes().replace(b"Xiaomi", "Xiaomi\u00e9".encode("latin-1"), 1) + b"\xe9\n")
        elif kind == "folder":
            path.unlink()
            path.mkdir()
        elif kind == "empty":
            path.write_text("", encoding="utf-8")
        else:
            _write(path, lines[:2] + [lines[2] + ",extra"] + lines[3:])
        return f"{name}: {kind}"
    return apply


def model_change(data: Path, rng: random.Random) -> str:
    import json
    path = data / "model.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    kind = rng.choice(["fit_string", "fit_list", "price_coef", "appeal", "share", "folder", "truncate", "bom",
                       "segments_type", "huge"])
    seg = raw["segments"][rng.randrange(len(raw["segments"]))]
    if kind == "fit_string":
        key = rng.choice(sorted(raw.get("fit", {"x": 1})))
        raw.setdefault("fit", {})[key] = "oops"
    elif kind == "fit_list":
        raw["fit"] = {**raw.get("fit", {}), "price_range": "cheap", "warnings": 5, "covariance": "x"}
    elif kind == "price_coef":
        seg["price_coef"] = rng.choice(["0.001", -1, 1e308, None])
    elif kind == "appeal":
        sku = rng.choice(sorted(seg["appeal"]))
        seg["appeal"][sku] = rng.choice(["high", 1e308, None, [1]])
    elif kind == "share":
        seg["share"] = rng.choice([2, "0.3", -0.1])
    elif kind == "segments_type":
        raw["segments"] = "SU7"
    elif kind == "huge":
        seg["intercept"] = 1e308
    if kind == "folder":
        path.unlink()
        path.mkdir()
    elif kind == "truncate":
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: rng.randrange(1, len(text))], encoding="utf-8")
    elif kind == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    else:
        path.write_text(json.dumps(raw), encoding="utf-8")
    return f"model.json: {kind}"


SETTINGS_CHANGES = (
    "[offer]\nmax_items = 1000000\n", "[offer]\npinned = \"five\"\n", "[offer]\nmax_bundles = 1e9\n",
    "[offer]\nmax_bundles = 100000\n", "[price]\ndiscounts = [0.5, \"x\"]\n", "[price]\ndiscounts = 0.1\n",
    "[solver]\ntime_limit = 1e308\n", "[solver]\ntime_limit = inf\n", "[solver]\nrel_gap = nan\n",
    "[market]\nbuyers = 1e308\n", "[market]\nbuyers = \"many\"\n", "[offer]\nrequired_zones = \"car\"\n",
    "[offer]\nbanned = 5\n", "[target]\nattach_rate = -0.1\n", "[offer]\nmin_items = 0\n",
)


def settings_change(data: Path, rng: random.Random) -> str:
    text = (ROOT / "pricing" / "defaults.toml").read_text(encoding="utf-8")
    kind = rng.choice(["key", "truncate", "folder", "bom"])
    path = data / "run.toml"
    if kind == "key":
        change = rng.choice(SETTINGS_CHANGES)
        path.write_text(change, encoding="utf-8")
        return f"run.toml: {change.strip()!r}"
    if kind == "truncate":
        lines = text.splitlines(keepends=True)
        path.write_text("".join(lines[: rng.randrange(1, len(lines))]), encoding="utf-8")
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return f"run.toml: {kind}"


MUTATIONS: list[Callable[[Path, random.Random], str]] = [
    *(csv_cell(n) for n in CSV_FILES), *(csv_structure(n) for n in CSV_FILES), model_change, settings_change,
]


class Overtime(BaseException):
    """The command ran past the time limit plus the grace the benchmark allows."""


def _overtime(signum, frame):
    raise Overtime()


def run_cli(argv: list[str], seconds: int) -> tuple[int, str, str]:
    """Run ``python -m pricing`` in-process; a traceback becomes exit code -1, a run longer
    than ``seconds`` exit code -2."""
    from pricing.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    signal.signal(signal.SIGALRM, _overtime)
    signal.alarm(seconds)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except Overtime:
            code = -2
        except BaseException:  # noqa: BLE001 - the benchmark counts exactly these
            traceback.print_exc()
            code = -1
        finally:
            signal.alarm(0)
    return code, out.getvalue(), err.getvalue()


def judge(code: int, err: str, out_dir: Path, expected: tuple[str, ...]) -> str | None:
    """None when the run behaved; otherwise what was wrong."""
    written = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    lines = [x for x in err.splitlines() if x.strip()]
    if code == -2:
        return "did not end within the time limit plus 30 s"
    if code == -1 or "Traceback" in err:
        return "traceback: " + (lines[-1] if lines else "?")[:200]
    if code == 0:
        missing = [n for n in expected if n not in written]
        return f"exit 0 but missing {missing}" if missing else None
    if code in (2, 3):
        if len(lines) != 1:
            return f"exit {code} with {len(lines)} lines"
        if len(lines[0]) > 300:
            return f"exit {code} with a {len(lines[0])}-character line"
        if any(n in written for n in expected):
            return f"exit {code} but wrote {written}"
        return None
    if code == 1 and "time limit" in err and not any(n in written for n in expected):
        return None
    return f"exit {code}: {err.strip()[:200]}"


def run_case(case: int, seed: int, work: Path) -> tuple[str, list[str]]:
    rng = random.Random(seed * 1000 + case)
    data = work / f"case{case}"
    shutil.copytree(DATA, data)
    what = rng.choice(MUTATIONS)(data, rng)
    config = ["--config", str(data / "run.toml")] if (data / "run.toml").exists() else []
    problems = []
    out = work / f"out{case}"
    code, _, err = run_cli(["optimize", "--data", str(data), "--out", str(out), "--time-limit", str(LIMIT), *config],
                           LIMIT + 30)
    if (problem := judge(code, err, out, ("price_sheet.csv", "price_sheet.xlsx", "run.json"))):
        problems.append(f"optimize: {problem}")
    if not config:
        fit_out = work / f"fit{case}"
        code, _, err = run_cli(["fit", "--data", str(data), "--out", str(fit_out / "model.json")], 120)
        if (problem := judge(code, err, fit_out, ("model.json", "validation.json", "validation.txt"))):
            problems.append(f"fit: {problem}")
    return what, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    failures = 0
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            what, problems = run_case(case, args.seed, Path(tmp))
            for problem in problems:
                failures += 1
                print(f"FAIL case {case} [{what}] {problem}", flush=True)
            if not problems:
                print(f"ok   case {case} [{what}]", flush=True)
    print(f"{args.cases} cases, {failures} failures, {time.perf_counter() - begin:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
