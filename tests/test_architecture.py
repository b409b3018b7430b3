"""The shape docs/architecture.md promises, checked on the code itself (import-linter checks the layers in
`make lint`): no hidden imports, services of a readable size, every workflow kind owned by its capability."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from careboard.models import Card, CardKind
from careboard.services import board

PACKAGE = Path(__file__).parent.parent / "careboard"
SERVICES = PACKAGE / "services"
LONG = 500


def _function_level_imports(tree: ast.Module):
    """Import statements inside a function or class body (not the module's, nor `if TYPE_CHECKING:`)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner


def test_no_function_level_import_without_a_comment_saying_why():
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in _function_level_imports(ast.parse(source)):
            if "#" not in lines[node.lineno - 1] and not lines[node.lineno - 2].strip().startswith("#"):
                hidden.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert hidden == []


def test_the_check_finds_a_hidden_import():
    tree = ast.parse("def f():\n    from careboard.services import board\n    return board\n")
    assert [node.lineno for node in _function_level_imports(tree)] == [2]


def test_a_long_service_module_says_at_its_top_why_it_is_long():
    unexplained = []
    for path in sorted(SERVICES.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(source)) or ""
        if len(source.splitlines()) > LONG + 50 and f"Longer than {LONG} lines because" not in docstring:
            unexplained.append(path.name)
    assert unexplained == []


@pytest.mark.usefixtures("app")
def test_every_workflow_kind_is_owned_by_a_registered_capability():
    """The app loads the callbacks, the checklist and the complaints, which register how their cards are done."""
    modes = {kind: board.completion_mode(Card(kind=kind)) for kind in CardKind}
    assert modes == {CardKind.CALLBACK: "outcome", CardKind.INSPECTION: "checklist",
                     CardKind.RECTIFICATION: "checklist", CardKind.COMPLAINT: "complaint_steps",
                     CardKind.REMINDER: "button", CardKind.TASK: "button"}


def test_a_workflow_kind_whose_capability_is_not_loaded_is_refused(monkeypatch):
    """Fail closed: without the checklist's rule an inspection card could be done past its check."""
    monkeypatch.delitem(board._workflows, CardKind.INSPECTION)
    with pytest.raises(RuntimeError, match="no workflow registered for inspection"):
        board.completion_mode(Card(kind=CardKind.INSPECTION))
