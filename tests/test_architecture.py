"""The house's plan, checked: imports go one way, from the shells down to ``models``
(``docs/architecture.md``), no library module imports Streamlit, and modules stay small."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. A module may import its own package and any package of a lower layer.
LAYERS = (
    "models",
    "pricing.domain",
    "pricing.optimizer",
    "pricing.files",
    "pricing.access",
    "pricing.runs",
    "pricing.app",
    "pricing.cli",
    "pricing",        # the package's facade (__init__, __main__)
    "app",            # the Streamlit shells: app.py and pages/
)
LIBRARY = ("models", "pricing")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Functions longer than that today, each to be split by whoever next changes its module; the list only
# shrinks (a test fails when an entry is no longer long, so it cannot go stale).
LONG_FUNCTIONS_TO_SPLIT: frozenset[str] = frozenset({
    "app.py::whatif_page",
    "pricing/optimizer/candidates.py::build_candidates",
    "pricing/optimizer/incumbent.py::local_search",
    "pricing/optimizer/milp.py::_build",
    "pricing/optimizer/optimize.py::_solve",
    "pricing/optimizer/optimize.py::optimize",
    "pricing/optimizer/pruning.py::dominated",
})


def _layer_of(module: str) -> int:
    """Index in LAYERS of the most specific package holding ``module`` (-1: not ours)."""
    best, best_len = -1, -1
    for i, package in enumerate(LAYERS):
        if (module == package or module.startswith(package + ".")) and len(package) > best_len:
            best, best_len = i, len(package)
    return best


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == "pages" or parts == ["app"]:
        return "app"
    return ".".join(parts)


def _sources() -> list[Path]:
    files = [*ROOT.glob("models/**/*.py"), *ROOT.glob("pricing/**/*.py"), ROOT / "app.py", *ROOT.glob("pages/*.py")]
    return sorted(p for p in files if p.exists())


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            # ``from pricing import files`` imports the subpackage pricing.files
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if _layer_of(f"{base}.{alias.name}") > _layer_of(base)]
    return found


def _upward_imports() -> list[str]:
    problems = []
    for path in _sources():
        here = _module_name(path)
        mine = _layer_of(here)
        for line, target in _imports(path):
            theirs = _layer_of(target)
            if theirs > mine:
                problems.append(f"{path.relative_to(ROOT)}:{line} ({LAYERS[mine]}) imports {target} ({LAYERS[theirs]})")
    return problems


def test_every_source_module_has_a_layer():
    unplaced = [str(p.relative_to(ROOT)) for p in _sources() if _layer_of(_module_name(p)) < 0]
    assert not unplaced


def test_imports_go_one_way_down_to_models():
    assert _upward_imports() == []


def test_no_library_module_imports_streamlit():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources() if _module_name(path).split(".")[0] in LIBRARY
        for line, target in _imports(path) if target.split(".")[0] == "streamlit"
    ]
    assert offenders == []


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(ROOT))) for p in _sources()])
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by idea"


def _long_functions() -> set[str]:
    found = set()
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.add(f"{path.relative_to(ROOT)}::{node.name}")
    return found


def test_functions_stay_short():
    long = _long_functions()
    assert long - LONG_FUNCTIONS_TO_SPLIT == set(), "split these by step (at most 60 lines each)"
    assert LONG_FUNCTIONS_TO_SPLIT - long == set(), "already short: take them off LONG_FUNCTIONS_TO_SPLIT"


def test_every_package_says_what_it_owns_and_may_import():
    for init in [*ROOT.glob("models/__init__.py"), *ROOT.glob("pricing/**/__init__.py")]:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc.split()) >= 25, f"{init.relative_to(ROOT)} needs a paragraph: what it owns, what it may import"
        assert "import" in doc, f"{init.relative_to(ROOT)} must say what it may import"


def test_the_checker_catches_an_upward_import(tmp_path, monkeypatch):
    """The test above would fail on a bad import: plant one and look."""
    fake = tmp_path / "models"
    fake.mkdir()
    (fake / "bad.py").write_text("from pricing.app.whatif import WhatIf\nimport streamlit\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _upward_imports()
    assert found == ["models/bad.py:1 (models) imports pricing.app.whatif (pricing.app)"]
