"""Synthesize the whole app once per worker, with the cdk-nag AwsSolutions checks registered."""

import json
from pathlib import Path

import pytest

import app as cdk_app
from catalog import naming
from customers import known_customers


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk") / "cdk.out"
    application = cdk_app.build_app(outdir=str(outdir))
    application.synth()  # raises if cdk-nag reports an unacknowledged finding
    stacks = {c: application.node.find_child(naming.stack_name(c)) for c in known_customers()}
    return outdir, stacks


@pytest.fixture(scope="session")
def templates(synthesized) -> dict[str, dict]:
    outdir, _ = synthesized
    return {c: json.loads((Path(outdir) / f"{naming.stack_name(c)}.template.json").read_text()) for c in known_customers()}


def resources(template: dict, rtype: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == rtype}


@pytest.fixture(scope="session")
def ops_template(synthesized) -> dict:
    outdir, _ = synthesized
    return json.loads((Path(outdir) / f"{naming.ops_stack_name()}.template.json").read_text())
