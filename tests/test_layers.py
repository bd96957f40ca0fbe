"""The package's layers hold: the import contract (.importlinter), no stray function-level
imports, and a light `radiolib fetch`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "radiolib"

#: Function-level imports allowed outside the CLI: optional dependencies (the book extra),
#: platform modules, torch where a light command would otherwise load it, and umap (numba:
#: seconds to import) only where a map is drawn.
LAZY_OK = {
    "nbformat": {"reproduce.py"},
    "papermill": {"reproduce.py"},
    "papermill.exceptions": {"reproduce.py"},
    "myst_nb": {"book.py"},
    "fcntl": {"data/fetch.py"},
    "torch": {"batchstats.py", "scaling.py"},
    "torch.nn.functional": {"batchstats.py", "scaling.py"},
    "umap": {"evaluate/projection.py"},
    # a dependency, imported only when a DINOv2 file is loaded (timm's import pulls in hubs)
    "timm": {"evaluate/released.py"},
    "timm.models.vision_transformer": {"evaluate/released.py"},
    "ipywidgets": {"anomaly/widget.py"},  # optional (book extra): a clear error without it
}


def _env() -> dict[str, str]:
    """The environment of a child process that imports this checkout's radiolib."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_import_contract_is_kept():
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint), "--no-cache", "--no-logo", str(REPO / ".importlinter")],
                         cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _function_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    yield from ((a.name, sub.lineno) for a in sub.names)
                elif isinstance(sub, ast.ImportFrom):
                    yield ("." * sub.level + (sub.module or ""), sub.lineno)


def test_function_level_imports_only_in_the_cli_and_for_optional_dependencies():
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "cli.py":
            continue
        stray += [f"{rel}:{line} imports {name}" for name, line in _function_imports(path)
                  if rel not in LAZY_OK.get(name, ())]
    assert not stray, "move these imports to the top of their module:\n" + "\n".join(stray)


def test_fetch_stays_light():
    code = ("import sys, radiolib.cli, radiolib.data, radiolib.files; "
            "print(sorted(m for m in ('astropy', 'pandas', 'torch') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
