"""Generic code names no runbook and no resource kind: what it needs to know about one is declared on it
(catalog/runbooks/<name>.py, catalog/kinds.py), so adding a runbook or a kind touches none of these files."""

import io
import tokenize
from pathlib import Path

import pytest

from catalog import KINDS, RUNBOOKS, naming

ROOT = Path(__file__).resolve().parents[2]
GENERIC = (
    "lambdas/logic/admit.py",
    "lambdas/logic/record.py",
    "lambdas/logic/store.py",
    "lambdas/handlers/page.py",
    "lambdas/handlers/record.py",
    "lambdas/runbooks/kit.py",
    "lambdas/runbooks/__init__.py",
    "catalog/declaration.py",
    "catalog/runbooks/__init__.py",
    "stacks/alarms.py",
    "stacks/workflow_parts.py",
    "stacks/runbook_workflow.py",
    "stacks/maintenance_workflow.py",
    "stacks/remediation_stack.py",
    "sandbox/recorder.py",
    "sandbox/timeline.py",
)
NAMES = sorted({*RUNBOOKS, *(naming.module_name(n) for n in RUNBOOKS), *KINDS})


def code_strings(path: Path) -> list[str]:
    """The string literals of the code (where a name would be compared or looked up); comments and docstrings
    may name examples."""
    found, previous = [], tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT, tokenize.NL, tokenize.DEDENT):
            pass  # a docstring (or a bare string statement)
        elif tok.type == tokenize.STRING:
            found.append(tok.string)
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return found


@pytest.mark.parametrize("module", GENERIC)
def test_generic_code_names_no_runbook_and_no_kind(module):
    tokens = code_strings(ROOT / module)
    named = sorted({name for name in NAMES for tok in tokens if name in tok})
    assert named == [], f"{module} names {named}: declare it on the runbook or the kind instead"


def _imports(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_lambda_layers_import_downwards_only_and_runbooks_import_no_other_runbook():
    # logic, models, handlers and diagnosis never reach up into a runbook; a runbook uses the kit, not another runbook
    below = [p for d in ("logic", "models", "handlers", "diagnosis") for p in (ROOT / "lambdas" / d).glob("*.py")]
    upward = sorted(f"{p.relative_to(ROOT)}: {m}" for p in below for m in _imports(p) if m.startswith("lambdas.runbooks"))
    sideways = sorted(
        f"{p.relative_to(ROOT)}: {m}"
        for p in (ROOT / "lambdas" / "runbooks").glob("*.py")
        for m in _imports(p)
        if m.startswith("lambdas.runbooks.") and not m.startswith(("lambdas.runbooks.kit", f"lambdas.runbooks.{p.stem}"))
    )
    assert upward == [] and sideways == []
