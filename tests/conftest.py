"""Shared fixtures. The repository root is importable (catalog, customers, lambdas, stacks, sandbox)."""

import os
import sys
from collections import Counter
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

# xdist hands out whole files in collection order (the Makefile's --no-loadscope-reorder; its own reorder puts the
# files with the most tests first, so a one-test file of real `npx cdk` processes came last and ran alone). The
# files that start real processes (live) and deploy stacks (e2e) start first; the quick unit files fill the end.
HEAVIEST_FIRST = ("live", "e2e", "infra", "sandbox", "unit")


def pytest_collection_modifyitems(config, items):
    per_file = Counter(item.path for item in items)

    def heaviest_first(item):
        suite = item.path.relative_to(ROOT / "tests").parts[0] if item.path.is_relative_to(ROOT / "tests") else ""
        rank = HEAVIEST_FIRST.index(suite) if suite in HEAVIEST_FIRST else len(HEAVIEST_FIRST)
        return rank, -per_file[item.path], str(item.path)

    items.sort(key=heaviest_first)  # stable: a file's tests stay together and in their order


@pytest.fixture(scope="session")
def dhbw_assembly(fleet_assembly) -> Path:
    """The dhbw stack, synthesized exactly as `cdk synth` would: the whole app's assembly (``fleet_assembly``), which
    holds the same dhbw template as `-c customer=dhbw` and which every suite shares (the fleet, infra, and the
    sandbox's own subprocesses)."""
    return fleet_assembly


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


FLEET = ["dhbw", "edt", "unilux"]


@pytest.fixture(scope="session")
def fleet_assembly() -> Path:
    """The whole app (every customer's stack and the ops stack), synthesized once for the current sources."""
    from sandbox.synth import synthesized

    return synthesized()


@pytest.fixture(scope="session")
def fleet_deployed(fleet_assembly, tmp_path_factory):
    """Every customer's stack in its own account and the ops stack in the ops account, deployed once per test
    worker; a sandbox given it (``Sandbox(FLEET, ops=True, deployed=...)``) starts from there."""
    from sandbox.engine import Sandbox

    sb = Sandbox(FLEET, ops=True, assembly=fleet_assembly, workdir=tmp_path_factory.mktemp("fleet"), keep_deployed=True)
    sb.start()
    try:
        return sb.deployed_snapshot
    finally:
        sb.stop()
