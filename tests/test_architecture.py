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
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_WHERE" for t in node.targets) \
                and isinstance(node.value, ast.Dict):
            # A package's names loaded on first use (``pricing/__init__.py``): the modules they name.
            found += [(node.lineno, v.value) for v in node.value.values if isinstance(v, ast.Constant)]
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


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function a reader holds in mind: signature and body, not the docstring."""
    length = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        length -= first.end_lineno - first.lineno + 1
    return length


def _long_functions() -> set[str]:
    found = set()
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = _code_lines(node)
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


def test_the_checker_reads_the_names_a_package_loads_on_first_use(tmp_path, monkeypatch):
    fake = tmp_path / "pricing" / "domain"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('_WHERE = {"WhatIf": "pricing.app.whatif"}\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _upward_imports() == ["pricing/domain/__init__.py:1 (pricing.domain) imports pricing.app.whatif (pricing.app)"]


def test_the_optimize_command_loads_only_what_it_needs(tmp_path):
    """``python -m pricing optimize`` imports the chosen command's module alone, and the package
    facades load their names on first use: the ERP export, the accounts, the monthly run, the
    app's library and Dask stay unloaded (0.08 s of a 1.7 s run, docs/benchmarks.md)."""
    import subprocess

    script = ("import sys\nfrom pricing.cli.main import main\n"
              f"code = main(['optimize', '--data', {str(ROOT / 'data')!r}, '--out', {str(tmp_path / 'out')!r}])\n"
              "print(code, sorted({m for m in sys.modules if m.startswith(('pricing.files.erp', 'pricing.access.users', "
              "'pricing.runs', 'pricing.app', 'pricing.cli.', 'dask', 'argon2'))}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    code, loaded = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code == "0"
    assert loaded == "['pricing.cli.exit_codes', 'pricing.cli.main', 'pricing.cli.optimize', 'pricing.cli.settings_flags']"


@pytest.mark.parametrize("package", ["pricing", "pricing.files", "pricing.access"])
def test_every_name_a_facade_loads_on_first_use_resolves(package):
    import importlib

    module = importlib.import_module(package)
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        getattr(module, "not_a_name")
