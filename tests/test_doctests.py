"""The docstring examples of every radiolib module run, and show what they print."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import radiolib

MODULES = sorted(m.name for m in pkgutil.walk_packages(radiolib.__path__, "radiolib."))


def _with_examples() -> list[str]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        tests = doctest.DocTestFinder().find(module, name, module=module)
        if any(t.examples for t in tests):
            found.append(name)
    return found


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
