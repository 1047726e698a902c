"""The generated docs (make docs, tools/docs.py) are what the catalog generates, and the README keeps every table.

Fast: no synth. tests/infra/test_docs.py checks the same lists against the synthesized templates.
"""

import json
import re

import pytest

from catalog import RUNBOOKS
from tests.unit.test_generic_code import NAMES, code_strings
from tools import docs

ROOT = docs.ROOT
README_REGIONS = {
    "scope",
    "runbooks",
    "console-inputs",
    "outputs",
    "state-machines",
    "functions",
    "alarms",
    "automation-alarms",
    "reserved-concurrency",
    "bench",
}


def regions(path) -> list[tuple[str, str | None]]:
    return [(m["name"], m["arg"]) for m in docs.REGION.finditer(path.read_text())]


def test_the_committed_docs_are_what_the_catalog_generates():
    stale = [str(p.relative_to(ROOT)) for p in docs.stale()]
    assert stale == [], f"generated text is out of date in {', '.join(stale)}: run `make docs` and commit the result"


def test_the_readme_keeps_every_generated_table():
    found = {name for name, _ in regions(ROOT / "README.md")}
    assert README_REGIONS <= found, f"README.md lacks the generated regions {sorted(README_REGIONS - found)}"


@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_every_runbook_page_starts_with_its_generated_console_input(name):
    assert ("console-input", name) in regions(ROOT / "docs" / "runbooks" / f"{name}.md")


def test_the_readme_gives_every_runbooks_console_input():
    # what the live tests read (tests/live/test_live_clients.py: console_inputs) and what an operator pastes
    readme = (ROOT / "README.md").read_text()
    rows = {
        rb.name: (f"| `{rb.name}`" + (" (needs approval)" if rb.approval else "") + f" | `{json.dumps(rb.example_input)}` |")
        for rb in RUNBOOKS.values()
    }
    missing = [row for row in rows.values() if row not in readme]
    assert not missing, "README's console-input table (python cli.py runbooks) lacks: " + " ".join(missing)
    live_rows = re.findall(r"^\| `([a-z-]+)`(?: \(needs approval\))? \| `(\{.*\})` \|$", readme, re.MULTILINE)
    assert {name: json.loads(text) for name, text in live_rows} == {rb.name: rb.example_input for rb in RUNBOOKS.values()}


def test_a_changed_table_is_found_and_rewritten(tmp_path):
    # given a document whose generated table was edited by hand
    path = ROOT / "README.md"
    text = path.read_text()
    start = text.index("<!-- generated: console-inputs -->")
    edited = text[:start] + text[start:].replace("`scale-ecs-service`", "`scale-ecs`", 1)
    # when it is rendered, then the edit is gone, and rendering again changes nothing
    once = docs.render(edited, path)
    assert once == text and docs.render(once, path) == once


def test_an_indented_region_is_generated_with_its_indentation():
    text = "- item\n  <!-- generated: reserved-concurrency -->\n  <!-- end generated -->\n"
    out = docs.render(text, ROOT / "README.md")
    body = out.split("-->\n", 1)[1].rsplit("  <!-- end generated -->", 1)[0]
    assert body.startswith("  Each of the stack's ") and all(line.startswith("  ") for line in body.splitlines() if line)


def test_an_unknown_region_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown generated region 'nope'; known: scope, runbooks"):
        docs.render("<!-- generated: nope -->\n<!-- end generated -->\n", ROOT / "README.md")


def test_the_figures_come_from_the_committed_bench_results():
    results = json.loads(docs.BENCH.read_text())
    table = docs.bench(docs.Page(ROOT / "README.md", docs.example_customer()), None)
    assert f"{results['alarm_to_scaling_call_seconds']['median']:.2f} s" in table
    assert f"| state transitions per scale-out incident | {results['per_incident']['state_transitions']} |" in table


def test_the_generator_names_no_runbook_and_no_kind():
    tokens = code_strings(ROOT / "tools" / "docs.py")
    named = sorted({name for name in NAMES for tok in tokens if name in tok})
    assert named == [], f"tools/docs.py names {named}: derive it from the catalog instead"
