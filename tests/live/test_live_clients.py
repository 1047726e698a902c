"""The AWS CLI and the operators' CLI against `python -m sandbox serve --deploy dhbw,edt`: every customer in its own
account, runbooks started from the console inputs, alarms set by hand, approvals across separate commands."""

import json
import re

from tests.live.conftest import ROOT

SERVE_ARGS = ["--deploy", "dhbw,edt"]
DHBW, EDT = "lecture-dhbw-prod", "lecture-edt-prod"
ACCOUNTS = {"dhbw": "111111111111", "edt": "222222222222", "unilux": "333333333333"}
CPU_HIGH = "lecture-{c}-lecture-backend-service-cpu-high"
APPROVAL_RUNBOOKS = {"tune-lambda", "restore-rds-cluster", "force-unlock-state", "restore-terraform-state", "maintenance-window"}


def console_inputs() -> dict[str, dict]:
    """The README's console-input table: runbook -> its example input."""
    rows = re.findall(
        r"^\| `([a-z-]+)`(?: \(needs approval\))? \| `(\{.*\})` \|$", (ROOT / "README.md").read_text(), re.MULTILINE
    )
    return {name: json.loads(text) for name, text in rows}


def desired(sb, profile: str) -> int:
    c = profile.split("-")[1]
    out = sb.aws(
        profile, "ecs", "describe-services", "--cluster", f"lecture-{c}-cluster", "--services", "lecture-backend-service"
    )
    return out["services"][0]["desiredCount"]


def test_ready_prints_one_line_and_writes_a_profile_per_customer_in_its_own_account(live_sandbox):
    ready = [line for line in live_sandbox.lines if line.startswith("sandbox ready: ")]
    assert ready == [f"sandbox ready: {live_sandbox.endpoint}"]
    config = live_sandbox.config.read_text()
    for customer, account in ACCOUNTS.items():
        assert f"[profile lecture-{customer}-prod]" in config
        identity = live_sandbox.aws(f"lecture-{customer}-prod", "sts", "get-caller-identity")
        assert identity["Account"] == account


def test_one_customers_profile_never_sees_anothers_resources(live_sandbox):
    dhbw = live_sandbox.aws(DHBW, "stepfunctions", "list-state-machines")["stateMachines"]
    edt = live_sandbox.aws(EDT, "stepfunctions", "list-state-machines")["stateMachines"]
    assert dhbw and all(":111111111111:stateMachine:lecture-dhbw-" in m["stateMachineArn"] for m in dhbw)
    assert edt and all(":222222222222:stateMachine:lecture-edt-" in m["stateMachineArn"] for m in edt)
    unilux = live_sandbox.aws("lecture-unilux-prod", "stepfunctions", "list-state-machines")["stateMachines"]
    assert unilux == []  # not deployed: its account has none of the others'


def test_an_alarm_set_with_the_aws_cli_scales_that_customer_only(live_sandbox):
    before_dhbw, before_edt = desired(live_sandbox, DHBW), desired(live_sandbox, EDT)
    live_sandbox.aws(
        EDT,
        "cloudwatch",
        "set-alarm-state",
        "--alarm-name",
        CPU_HIGH.format(c="edt"),
        "--state-value",
        "ALARM",
        "--state-reason",
        "game day: CPU by hand",
    )
    live_sandbox.wait_for(lambda: desired(live_sandbox, EDT) == before_edt + 1, what="edt scaled out")
    respond = live_sandbox.aws(
        EDT,
        "stepfunctions",
        "list-executions",
        "--state-machine-arn",
        f"arn:aws:states:eu-central-1:{ACCOUNTS['edt']}:stateMachine:lecture-edt-respond",
    )
    assert respond["executions"]
    assert desired(live_sandbox, DHBW) == before_dhbw  # dhbw's account saw nothing
    live_sandbox.aws(
        EDT,
        "cloudwatch",
        "set-alarm-state",
        "--alarm-name",
        CPU_HIGH.format(c="edt"),
        "--state-value",
        "OK",
        "--state-reason",
        "game day: back to normal",
    )


def test_an_approval_is_started_approved_and_read_back_in_separate_commands(live_sandbox):
    started = live_sandbox.cli(
        "start",
        "tune-lambda",
        "-c",
        "dhbw",
        "function=lecture-dhbw-function",
        "memory_mb=1024",
        "timeout_seconds=60",
        "reason=timeouts under exam load",
        "--no-wait",
    )
    execution = json.loads(started.stdout)["executionArn"].rsplit(":", 1)[-1]
    live_sandbox.wait_for(
        lambda: execution in live_sandbox.cli("pending", "-c", "dhbw").stdout, what="the approval to be pending"
    )
    # the operator who started it is not a named approver: refused; the customer's approver profile answers
    refused = live_sandbox.cli("approve", execution, "-c", "dhbw", "--comment", "mine", check=False)
    assert refused.returncode == 1 and "is not a named approver of customer dhbw" in refused.stderr
    live_sandbox.cli("approve", execution, "-c", "dhbw", "--profile", "lecture-dhbw-approver", "--comment", "load test passed")
    watched = live_sandbox.cli("watch", json.loads(started.stdout)["executionArn"])
    assert json.loads(watched.stdout)["status"] == "SUCCEEDED"
    history = live_sandbox.cli("history", "-c", "dhbw").stdout
    assert execution in history and "tuned" in history
    config = live_sandbox.aws(DHBW, "lambda", "get-function-configuration", "--function-name", "lecture-dhbw-function")
    assert config["MemorySize"] == 1024 and config["Timeout"] == 60


def test_a_rejected_approval_changes_nothing(live_sandbox):
    started = live_sandbox.cli(
        "start",
        "force-unlock-state",
        "-c",
        "edt",
        "lock_id=9e2b4c1d-6f3a-4b8e-a2d7-5c0f1e3b9a64",
        "reason=stale lock",
        "--no-wait",
    )
    execution = json.loads(started.stdout)["executionArn"].rsplit(":", 1)[-1]
    live_sandbox.wait_for(lambda: execution in live_sandbox.cli("pending", "-c", "edt").stdout, what="the approval to be pending")
    live_sandbox.cli("reject", execution, "-c", "edt", "--profile", "lecture-edt-approver", "--comment", "a run is going on")
    watched = json.loads(live_sandbox.cli("watch", json.loads(started.stdout)["executionArn"]).stdout)
    assert watched["status"] == "SUCCEEDED" and watched["output"]["outcome"] == "rejected"
    locks = live_sandbox.aws(EDT, "dynamodb", "scan", "--table-name", "terraform-state-lock")["Items"]
    assert any(item["LockID"]["S"].endswith("terraform.tfstate") for item in locks)  # still held


def test_the_clock_advances_on_purpose_and_an_unanswered_approval_times_out(live_sandbox):
    started = live_sandbox.cli("start", "restore-rds-cluster", "-c", "edt", "reason=table dropped by mistake", "--no-wait")
    arn = json.loads(started.stdout)["executionArn"]
    execution = arn.rsplit(":", 1)[-1]
    live_sandbox.wait_for(lambda: execution in live_sandbox.cli("pending", "-c", "edt").stdout, what="the approval to be pending")
    moved = live_sandbox.control("POST", "/_sandbox/clock?advance_minutes=31")
    assert moved["timed_out"] >= 1
    done = live_sandbox.wait_for(
        lambda: (
            (d := live_sandbox.aws(EDT, "stepfunctions", "describe-execution", "--execution-arn", arn))["status"] != "RUNNING"
            and d
        ),
        what="the restore to end",
    )
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"])["outcome"] == "rejected"
    report = live_sandbox.control("GET", "/_sandbox/report")
    assert set(report["customers"]) == set(ACCOUNTS)
    edt_runs = [e["name"] for e in report["customers"]["edt"]["executions"]]
    assert execution in edt_runs
    assert execution not in [e["name"] for e in report["customers"]["dhbw"]["executions"]]


def test_status_all_reads_every_customer_with_its_own_profile(live_sandbox):
    proc = live_sandbox.cli("status", "--all", check=False)
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[2:]}
    assert "111111111111/eu-central-1" in rows["dhbw"] and "error" not in rows["dhbw"]
    assert "222222222222/eu-central-1" in rows["edt"] and "error" not in rows["edt"]
    assert "not deployed in 333333333333" in rows["unilux"]  # nothing deployed there yet
    assert proc.returncode == 1
    # no ops stack in this sandbox: the CLI says it reads each customer's account instead of the fleet table
    assert proc.stderr.startswith("not from the ops account's fleet table ("), proc.stderr


def test_the_mode_switch_set_with_the_aws_cli_is_reported_as_cloudtrail_would(live_sandbox):
    name = "/lecture/edt/remediation/mode"
    live_sandbox.aws(EDT, "ssm", "put-parameter", "--name", name, "--value", "dry-run", "--type", "String", "--overwrite")
    arn = f"arn:aws:states:eu-central-1:{ACCOUNTS['edt']}:stateMachine:lecture-edt-mode-change"
    runs = live_sandbox.wait_for(
        lambda: [
            e
            for e in live_sandbox.aws(EDT, "stepfunctions", "list-executions", "--state-machine-arn", arn)["executions"]
            if e["status"] != "RUNNING"
        ],
        what="the mode-change workflow",
    )
    d = live_sandbox.aws(EDT, "stepfunctions", "describe-execution", "--execution-arn", runs[0]["executionArn"])
    assert d["status"] == "SUCCEEDED"
    assert "arn:aws:iam::222222222222:user/sandbox-operator" in d["input"]  # who: the verified caller
    live_sandbox.aws(EDT, "ssm", "put-parameter", "--name", name, "--value", "enforce", "--type", "String", "--overwrite")


def test_a_security_group_opened_with_the_aws_cli_pages_the_security_team(live_sandbox):
    [default] = live_sandbox.aws(EDT, "ec2", "describe-security-groups", "--group-names", "default")["SecurityGroups"]
    group = default["GroupId"]
    live_sandbox.aws(
        EDT,
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "0.0.0.0/0",
    )

    def security_pages():
        edt = live_sandbox.control("GET", "/_sandbox/report")["customers"]["edt"]
        return [p for p in edt["pages"] if p.get("team") == "security" and group in json.dumps(p)]

    pages = live_sandbox.wait_for(security_pages, what="the security team's page")
    event = pages[0]["payload"]["custom_details"]["security_event"]
    assert event["event_name"] == "AuthorizeSecurityGroupIngress"
    assert "0.0.0.0/0" in json.dumps(event["what"]["rules"]) and "22" in json.dumps(event["what"]["rules"])
    assert "arn:aws:iam::222222222222:user/sandbox-operator" in json.dumps(pages[0])  # who: the verified caller
    dhbw = live_sandbox.control("GET", "/_sandbox/report")["customers"]["dhbw"]
    assert group not in json.dumps(dhbw["pages"])


def test_tasks_stopped_with_the_aws_cli_reach_eventbridge_as_ecs_events_and_page_once(live_sandbox):
    # given as many tasks of edt's service as it runs now (an earlier test may have scaled it), run as its scheduler
    # would (group service:<name>)
    [service] = live_sandbox.aws(
        EDT, "ecs", "describe-services", "--cluster", "lecture-edt-cluster", "--services", "lecture-backend-service"
    )["services"]
    count = int(service["runningCount"])
    assert count >= 1
    [subnet] = live_sandbox.aws(EDT, "ec2", "describe-subnets")["Subnets"][:1]
    [default] = live_sandbox.aws(EDT, "ec2", "describe-security-groups", "--group-names", "default")["SecurityGroups"]
    network = f"awsvpcConfiguration={{subnets=[{subnet['SubnetId']}],securityGroups=[{default['GroupId']}]}}"
    tasks = live_sandbox.aws(
        EDT,
        "ecs",
        "run-task",
        "--cluster",
        "lecture-edt-cluster",
        "--task-definition",
        "lecture-backend",
        "--count",
        str(count),
        "--launch-type",
        "FARGATE",
        "--group",
        "service:lecture-backend-service",
        "--network-configuration",
        network,
    )["tasks"]
    # when all of them are stopped by hand
    for t in tasks:
        live_sandbox.aws(
            EDT, "ecs", "stop-task", "--cluster", "lecture-edt-cluster", "--task", t["taskArn"], "--reason", "by hand"
        )

    # then ECS's task events reach the rule, and the service down (no task left) is paged once, at P1
    def task_events_done():
        edt = live_sandbox.control("GET", "/_sandbox/report")["customers"]["edt"]
        runs = [e for e in edt["executions"] if e["state_machine"] == "lecture-edt-respond" and e["status"] != "RUNNING"]
        stopped = [e for e in runs if "ECS task stopped" in json.dumps(e.get("output"))]
        return (edt, stopped) if len(stopped) == count else None

    edt, stopped = live_sandbox.wait_for(task_events_done, what="every task event handled")
    # the service is down only when the last task stops: one page; the earlier stops are not down (or join it)
    decisions = sorted(e["output"]["decision"] for e in stopped)
    assert decisions.count("page") == 1 and set(decisions) - {"page"} <= {"ignore", "join"}, decisions
    pages = [p for p in edt["pages"] if p.get("event_action") == "trigger" and "running-tasks-low" in str(p.get("dedup_key"))]
    sent = [(p.get("event_action"), p.get("dedup_key")) for p in edt["pages"]]
    assert len(pages) == 1, f"PagerDuty got {sent}; published to the topic instead: {edt['sns_pages']}"
    assert pages[0]["payload"]["severity"] == "error"
    assert pages[0]["payload"]["custom_details"]["service_event"]["kind"] == "ecs-task-stopped"


def _finished_or_waiting(sb, arn: str):
    d = sb.aws(DHBW, "stepfunctions", "describe-execution", "--execution-arn", arn)
    if d["status"] != "RUNNING":
        return d
    history = sb.aws(DHBW, "stepfunctions", "get-execution-history", "--execution-arn", arn)["events"]
    waiting = any(e["type"] == "TaskScheduled" and "waitForTaskToken" in json.dumps(e) for e in history)
    return d | {"waiting": True} if waiting else None


def test_every_console_input_of_the_readme_starts_with_the_aws_cli_and_succeeds(live_sandbox):
    """In the README's order, as an operator would: an approval is approved when it is asked for (force-unlock-state
    before restore-terraform-state, which refuses while the lock is held), the maintenance window's 30 minutes pass
    on the sandbox's clock."""
    inputs = console_inputs()
    assert len(inputs) == 11
    for runbook, payload in inputs.items():
        arn = f"arn:aws:states:eu-central-1:{ACCOUNTS['dhbw']}:stateMachine:lecture-dhbw-{runbook}"
        name = f"console-{runbook}"
        started = live_sandbox.aws(
            DHBW, "stepfunctions", "start-execution", "--state-machine-arn", arn, "--name", name, "--input", json.dumps(payload)
        )["executionArn"]
        d = live_sandbox.wait_for(lambda a=started: _finished_or_waiting(live_sandbox, a), what=f"{runbook} to settle")
        if d.get("waiting") and runbook in APPROVAL_RUNBOOKS:
            assert name in live_sandbox.cli("pending", "-c", "dhbw").stdout
            live_sandbox.cli(
                "approve", name, "-c", "dhbw", "--profile", "lecture-dhbw-approver", "--comment", "console input of the README"
            )
        elif d.get("waiting"):
            assert runbook == "maintenance-window", f"{runbook} waits: {d}"
            live_sandbox.control("POST", "/_sandbox/clock?advance_minutes=31")
        if d.get("waiting"):
            d = live_sandbox.wait_for(
                lambda a=started: (
                    (e := live_sandbox.aws(DHBW, "stepfunctions", "describe-execution", "--execution-arn", a))["status"]
                    != "RUNNING"
                    and e
                ),
                what=f"{runbook} to end",
            )
        assert d["status"] == "SUCCEEDED", f"{runbook}: {d.get('error')} {d.get('cause')}"
        output = json.loads(d["output"])
        assert output["outcome"] not in ("failed", "refused", "rejected", "state_locked", None), f"{runbook}: {output}"


def test_a_console_start_without_a_name_gets_a_uuid_and_can_be_repeated(live_sandbox):
    # as the README's `aws stepfunctions start-execution` (no --name): AWS names each execution with a UUID
    arn = f"arn:aws:states:eu-central-1:{ACCOUNTS['dhbw']}:stateMachine:lecture-dhbw-health-check"
    started = [
        live_sandbox.aws(
            DHBW, "stepfunctions", "start-execution", "--state-machine-arn", arn, "--input", json.dumps({"reason": why})
        )["executionArn"]
        for why in ("before the lecture", "after the lecture")
    ]
    names = [a.rsplit(":", 1)[1] for a in started]
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", n) for n in names), names
    assert names[0] != names[1]
    for a in started:
        done = live_sandbox.wait_for(lambda a=a: _finished_or_waiting(live_sandbox, a), what="the health check")
        assert done["status"] == "SUCCEEDED", done
