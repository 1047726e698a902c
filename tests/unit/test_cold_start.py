"""A function loads the kit and its own runbook, not the whole catalog (cold start, `make bench`): checked in a
fresh interpreter, since this test process has loaded everything already."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from catalog import RUNBOOKS, naming

ROOT = Path(__file__).resolve().parents[2]


def loaded_by(module: str) -> set[str]:
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_a_runbooks_function_loads_its_own_declaration_and_no_other(name):
    loaded = loaded_by(f"lambdas.runbooks.{naming.module_name(name)}")
    declarations = {m for m in loaded if m.startswith("catalog.runbooks.") and not m.startswith("catalog.runbooks._")}
    assert declarations == {f"catalog.runbooks.{naming.module_name(name)}"}
    assert "lambdas.models.events" not in loaded  # admit's events: no runbook reads them


def test_the_full_catalog_is_still_there_for_whoever_needs_it():
    code = (
        "import sys; from catalog.runbooks import runbook; runbook('scale-ecs-service'); from catalog import RUNBOOKS; "
        "print(len(RUNBOOKS), len([m for m in sys.modules if m.startswith('catalog.runbooks.')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    count, modules = map(int, out.stdout.split())
    assert count == len(RUNBOOKS) and list(RUNBOOKS) == sorted(RUNBOOKS, key=naming.module_name)
    assert modules >= len(RUNBOOKS)


def test_an_unknown_runbook_is_a_clear_error_without_importing_anything_named_after_it():
    with pytest.raises(KeyError, match="unknown runbook '_permissions'; known: "):
        from catalog.runbooks import runbook

        runbook("_permissions")


def test_runbook_names_are_the_catalogs_without_loading_it():
    from catalog.runbooks import runbook_names

    assert runbook_names() == list(RUNBOOKS)
    code = "import sys; from catalog.runbooks import runbook_names; runbook_names(); print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not [m for m in out.stdout.split("'") if m.startswith("catalog.runbooks.")]


def test_the_operators_cli_loads_a_runbooks_declaration_only_when_a_command_needs_it():
    loaded = loaded_by("operators.cli")
    assert not {m for m in loaded if m.startswith("catalog.runbooks.") or m == "catalog.kinds"}


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed: bench/instructions.py needs it")
def test_the_instruction_count_of_an_import_is_positive_and_the_same_on_a_second_run():
    from bench.instructions import instructions

    valgrind = shutil.which("valgrind")
    empty, once, again = (instructions(valgrind, s) for s in ("pass", "import json", "import json"))
    assert once > empty > 0
    assert abs(once - again) < 0.01 * once  # counted, not timed: the machine's load does not move it
