"""The whole app as `cdk synth` makes it (`python app.py`, with the cdk-nag AwsSolutions checks registered):
synthesized once for the current sources and shared by every worker and suite (sandbox/synth.py). A cdk-nag
finding that is not acknowledged fails that synth, and with it every test here."""

import json
from pathlib import Path

import pytest

from catalog import naming
from customers import known_customers


@pytest.fixture(scope="session")
def synthesized(fleet_assembly) -> Path:
    """The cloud assembly directory (cdk.out): every customer's stack and the ops stack."""
    return fleet_assembly


@pytest.fixture(scope="session")
def templates(synthesized) -> dict[str, dict]:
    return {c: json.loads((synthesized / f"{naming.stack_name(c)}.template.json").read_text()) for c in known_customers()}


def resources(template: dict, rtype: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == rtype}


@pytest.fixture(scope="session")
def ops_template(synthesized) -> dict:
    return json.loads((synthesized / f"{naming.ops_stack_name()}.template.json").read_text())
