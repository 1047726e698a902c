"""The fleet in the live sandbox (issue 16): `serve --deploy all` deploys the ops stack too and writes the
lecture-ops profile; two customers' running-tasks alarms set with the AWS CLI (each with its own profile) reach the
ops account, and `python cli.py status --all` reads its fleet table."""

import json

SERVE_ARGS = ["--deploy", "all"]
TASKS_LOW = "lecture-{c}-lecture-backend-service-running-tasks-low"


def test_deploy_all_deploys_the_ops_stack_and_writes_its_profile(live_sandbox):
    assert "[profile lecture-ops]" in live_sandbox.config.read_text()
    assert live_sandbox.aws("lecture-ops", "sts", "get-caller-identity")["Account"] == "999999999999"
    stacks = live_sandbox.aws("lecture-ops", "cloudformation", "describe-stacks", "--stack-name", "lecture-ops-remediation")
    assert stacks["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_two_customers_down_reach_the_ops_account_and_status_all_reads_its_table(live_sandbox):
    for c in ("dhbw", "edt"):
        live_sandbox.aws(
            f"lecture-{c}-prod",
            "cloudwatch",
            "set-alarm-state",
            "--alarm-name",
            TASKS_LOW.format(c=c),
            "--state-value",
            "ALARM",
            "--state-reason",
            "game day: no running tasks",
        )

    def p0() -> dict | None:
        found = live_sandbox.aws(
            "lecture-ops",
            "dynamodb",
            "get-item",
            "--table-name",
            "lecture-ops-fleet",
            "--key",
            json.dumps({"pk": {"S": "fleet#p0"}, "sk": {"S": "current"}}),
        )
        item = found.get("Item") if isinstance(found, dict) else None  # no P0 yet: the AWS CLI prints nothing
        return item if item and item["state"]["S"] == "open" else None

    opened = live_sandbox.wait_for(p0, what="the P0 in the ops account's fleet table")
    assert sorted(v["S"] for v in opened["customers"]["L"]) == ["dhbw", "edt"]
    rows = json.loads(live_sandbox.cli("status", "--all", "--output", "json").stdout)
    by = {r["customer"]: r for r in rows}
    assert by["dhbw"]["source"] == "ops" and len(by["dhbw"]["open_incidents"]) == 1
    assert by["edt"]["reachable"] and by["unilux"]["reachable"] is False
