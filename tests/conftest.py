"""Shared fixtures. The repository root is importable (catalog, customers, lambdas, stacks, sandbox)."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox import quiet  # noqa: E402
from sandbox.synth import QUIET_NODE  # noqa: E402

quiet.install()
pytest_plugins = ["tests.e2e.least_privilege"]  # every sandbox call checked against the deployed roles
for _key, _value in QUIET_NODE.items():  # jsii's Node version banners, before aws_cdk loads
    os.environ.setdefault(_key, _value)


@pytest.fixture(scope="session")
def dhbw_assembly(tmp_path_factory) -> Path:
    """The dhbw stack, synthesized exactly as `cdk synth` would, once for the current sources (sandbox/synth.py)."""
    from sandbox.synth import synthesized

    return synthesized("dhbw")


@pytest.fixture(scope="session")
def dhbw_deployed(dhbw_assembly, tmp_path_factory):
    """The dhbw stack deployed once per test worker; each sandbox given it starts from that deployed stack
    (``Sandbox(..., deployed=...)``, sandbox/snapshot.py) instead of deploying again."""
    from sandbox.engine import Sandbox

    sb = Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path_factory.mktemp("deploy"), keep_deployed=True)
    sb.start()
    try:
        return sb.deployed_snapshot
    finally:
        sb.stop()
