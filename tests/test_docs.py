"""docs/derivation.md points at functions and tests: every one of them must exist."""
import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "derivation.md"

CODE_REF = re.compile(r"`(residual_mlp(?:\.\w+)+)`")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+(?:::\w+)?)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def references(text):
    """(code references, test references) in a Markdown text; inline code spans only."""
    return sorted(set(CODE_REF.findall(text))), sorted(set(TEST_REF.findall(text)))


def resolves(dotted):
    """True when `dotted` is an importable module, or an attribute path inside one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def defines_test(path, name, root=REPO):
    """True when the file defines the test function (or Class::method)."""
    file = root / path
    if not file.is_file():
        return False
    tree = ast.parse(file.read_text())
    scope = tree.body
    *classes, function = name.split("::")
    for cls in classes:
        found = [n for n in scope if isinstance(n, ast.ClassDef) and n.name == cls]
        if not found:
            return False
        scope = found[0].body
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function for n in scope)




def missing_references(text, root=REPO):
    code, tests = references(text)
    return ([ref for ref in code if not resolves(ref)]
            + [f"{path}::{name}" for path, name in tests if not defines_test(path, name, root)])


def test_every_function_the_derivation_names_exists():
    code, _ = references(DOC.read_text())
    assert len(code) >= 20
    assert [ref for ref in code if not resolves(ref)] == []


def test_every_test_the_derivation_names_exists():
    _, tests = references(DOC.read_text())
    assert len(tests) >= 10
    assert [f"{p}::{n}" for p, n in tests if not defines_test(p, n)] == []


def test_the_derivation_covers_each_implementation():
    code, _ = references(DOC.read_text())
    for needed in ("residual_mlp.model.forward", "residual_mlp.model.backward", "residual_mlp.model.cross_entropy",
                   "residual_mlp.flow.path_terms", "residual_mlp.explain.path1_factor",
                   "residual_mlp.explain.path2_factor", "residual_mlp.optim.step"):
        assert needed in code


def test_links_in_the_derivation_point_at_files():
    targets = [t for t in LINK.findall(DOC.read_text()) if "://" not in t]
    assert targets
    assert [t for t in targets if not (DOC.parent / t).is_file()] == []


@pytest.mark.parametrize("text, bad", [
    ("see `residual_mlp.model.no_such_function`", ["residual_mlp.model.no_such_function"]),
    ("see `residual_mlp.no_such_module.f`", ["residual_mlp.no_such_module.f"]),
    ("see `tests/test_flow.py::test_no_such_test`", ["tests/test_flow.py::test_no_such_test"]),
    ("see `tests/test_no_such_file.py::test_x`", ["tests/test_no_such_file.py::test_x"]),
    ("see `residual_mlp.model.backward` and `tests/test_flow.py::test_paths_sum_to_gradient`", []),
])
def test_the_checker_reports_what_does_not_exist(text, bad):
    assert missing_references(text) == bad
