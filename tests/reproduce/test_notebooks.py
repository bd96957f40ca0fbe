"""The notebooks tell a story and call the library: the house rules of their cells."""

from __future__ import annotations

import ast
import json
import re

import pytest

from radiolib.reproduce import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _cells(path, kind="code"):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def _source(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_defines_functions_or_classes(path):
    for cell in _cells(path):
        tree = ast.parse(_source(cell))
        defined = [n for n in ast.walk(tree)
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                                 | ast.Lambda)]
        assert not defined, f"{path.name}: define it in radiolib, not in a cell:\n{_source(cell)}"


def _is_built(node: ast.AST, built_names: set[str]) -> bool:
    """True for an f-string, a +, a str method's result, or a name assigned one of those."""
    if isinstance(node, ast.Name):
        return node.id in built_names
    return isinstance(node, ast.JoinedStr | ast.BinOp) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "replace", "join", "lower"))


def _built_keys(call: ast.Call, built_names: set[str]) -> list[ast.AST]:
    """Key expressions of a store call that are built from pieces in the notebook."""
    if not call.args:
        return []
    arg = call.args[0]
    if call.func.attr == "record_many":
        if isinstance(arg, ast.DictComp):
            return [arg]
        keys = arg.keys if isinstance(arg, ast.Dict) else []
    else:
        keys = [arg]
    return [k for k in keys if _is_built(k, built_names)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_result_key_is_assembled_in_a_notebook(path):
    for cell in _cells(path):
        tree = ast.parse(_source(cell))
        built = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                 and _is_built(n.value, set()) for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "record_many", "figure")):
                assert not _built_keys(node, built), (
                    f"{path.name}: a key built in the notebook (keys belong to radiolib.papers):"
                    f"\n{_source(cell)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_set_up_is_one_hidden_call(path):
    cells = _cells(path)
    colab = [c for c in cells if "google.colab" in _source(c)]
    assert all("remove-cell" in c["metadata"].get("tags", []) for c in colab), path.name
    assert not any("ResultsStore(" in _source(c) or "use_style()" in _source(c)
                   or "set_num_threads" in _source(c) for c in cells), path.name
    if any("store." in _source(c) for c in cells):  # a notebook that records its numbers
        setup = [c for c in cells if re.search(r"\bstart\(", _source(c))]
        assert len(setup) == 1, f"{path.name}: one radiolib.book.start(...) call"
        assert "hide-input" in setup[0]["metadata"].get("tags", []), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_a_label_and_a_caption(path):
    names = []
    for cell in _cells(path):
        if not re.search(r"^fig\b.*=\s*plots\.", _source(cell), re.M):
            continue
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        assert figure.get("name", "").startswith("fig-") and len(figure.get("caption", "")) > 20, (
            f"{path.name}: a figure cell without a label and a caption:\n{_source(cell)}")
        names.append(figure["name"])
    assert len(names) == len(set(names)), f"{path.name}: figure labels repeat: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_nbformat_with_unique_cell_ids(path):
    """nbformat 4.5 wants an id on every cell (a missing one is a warning today, an error later)."""
    import nbformat

    raw = json.loads(path.read_text())  # as stored: nbformat.read would fill missing ids in
    ids = [c.get("id") for c in raw["cells"]]
    assert None not in ids and len(set(ids)) == len(ids)
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))
