"""Pytest plugin: least privilege over the e2e suite (registered in tests/conftest.py).

Every AWS call a Lambda makes in a sandbox started by a test is matched against that function's role
in the synthesized template (sandbox/least_privilege.py says how). A call the role would not allow
fails the test that made it. At the end, the terminal summary lists the granted actions that no test
called; with xdist each worker writes what it saw to a file under the session's base temp directory,
and the controller merges them.
"""

import json

import pytest

from sandbox.least_privilege import ON_BEHALF, Policies, unused_grants

_seen: dict = {"granted": {}, "used": {}, "ignored_conditions": set()}
_FILE = "least-privilege.json"


def check_sandbox(sb) -> list[str]:
    """What the sandbox's Lambdas did that their roles do not allow; records what was used and granted."""
    if getattr(sb, "deployment", None) is None or not hasattr(sb, "recorder"):
        return []
    # every deployed stack's functions (each customer's account, and the ops account's), each checked against its own
    deployed = [(t.deployment, t.config.account, t.config.region) for t in sb.tenants.values() if t.deployment]
    if getattr(sb, "ops", None) is not None and sb.ops.deployment is not None:
        deployed.append((sb.ops.deployment, sb.ops.config.account, sb.ops.config.region))
    stacks = [Policies(d.template, d.resources, account, region) for d, account, region in deployed]
    primary = stacks[0]
    problems = []
    for call in list(sb.recorder.calls):
        policies = next((p for p in stacks if call["function"] in p.by_function), primary)
        for verdict in policies.check(call):
            _seen["used"].setdefault(verdict.function, set()).add(verdict.request.action.lower())
            if not verdict.allowed:
                problems.append(
                    f"{verdict.function}: {verdict.request.action} on "
                    f"{verdict.request.resources or 'its resource'}: {verdict.reason} "
                    f"(context {verdict.request.context})"
                )
    for policies in stacks:
        for fn, actions in policies.granted_actions().items():
            _seen["granted"].setdefault(fn, set()).update(actions)
        _seen["ignored_conditions"] |= policies.ignored_conditions
    return sorted(set(problems))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    from sandbox.engine import Sandbox

    started = []
    original = Sandbox.start

    def start(self):
        started.append(self)
        return original(self)

    Sandbox.start = start
    try:
        result = yield
    finally:
        Sandbox.start = original
    problems = [p for sb in started for p in check_sandbox(sb)]
    if problems:
        raise AssertionError("calls the deployed IAM roles would refuse (least privilege):\n  " + "\n  ".join(problems))
    return result


def pytest_sessionfinish(session):
    if not _seen["granted"]:
        return
    base = session.config._tmp_path_factory.getbasetemp()
    data = {k: sorted(v) if isinstance(v, set) else {f: sorted(a) for f, a in v.items()} for k, v in _seen.items()}
    (base / _FILE).write_text(json.dumps(data))


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    base = config._tmp_path_factory.getbasetemp()
    granted, used, ignored = {}, {}, set()
    # the controller's own file, or one per xdist worker (popen-gw<n>/); test directories are not walked
    for path in [base / _FILE, *sorted(base.glob(f"*/{_FILE}"))]:
        try:
            data = json.loads(path.read_text())
        except OSError:
            continue
        for fn, actions in data["granted"].items():
            granted.setdefault(fn, set()).update(actions)
        for fn, actions in data["used"].items():
            used.setdefault(fn, set()).update(actions)
        ignored |= set(data["ignored_conditions"])
    if not granted:
        return
    tr = terminalreporter
    tr.section("least privilege: granted but never called by any test")
    for fn, actions in sorted(unused_grants(granted, used).items()):
        by_code = [a for a in actions if not a.startswith(ON_BEHALF)]
        on_behalf = [a for a in actions if a.startswith(ON_BEHALF)]
        tr.write_line(f"{fn}: {', '.join(by_code) or '-'}")
        if on_behalf:
            tr.write_line(f"    (used by Lambda/AWS on the function's behalf, not by its code: {', '.join(on_behalf)})")
    if ignored:
        tr.write_line("conditions not evaluated (counted as satisfied): " + ", ".join(sorted(ignored)))
