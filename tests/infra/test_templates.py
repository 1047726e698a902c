"""Template assertions per customer, from the synthesized stacks."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from catalog import RUNBOOKS, naming, watched_alarms
from customers import known_customers, load_customer, load_ops
from stacks.remediation_stack import RemediationStack
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def test_one_stack_per_customer(synthesized):
    manifest = json.loads((synthesized / "manifest.json").read_text())
    stacks = {name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert CUSTOMERS == ["dhbw", "edt", "unilux"]
    assert stacks == {f"lecture-{c}-remediation" for c in CUSTOMERS} | {naming.ops_stack_name()}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_alarms_per_service_follow_the_runbook(templates, customer):
    template = Template.from_json(templates[customer])
    config = load_customer(customer)
    for svc in config.ecs.services:
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": f"lecture-{customer}-{svc.name}-running-tasks-low",
                "Namespace": "ECS/ContainerInsights",
                "MetricName": "RunningTaskCount",
                "Threshold": 1,
                "Period": 60,
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 1,
                "ComparisonOperator": "LessThanThreshold",
                "Dimensions": [
                    {"Name": "ClusterName", "Value": f"lecture-{customer}-cluster"},
                    {"Name": "ServiceName", "Value": svc.name},
                ],
            },
        )
        for condition, metric in (("cpu-high", "CPUUtilization"), ("memory-high", "MemoryUtilization")):
            template.has_resource_properties(
                "AWS::CloudWatch::Alarm",
                {
                    "AlarmName": f"lecture-{customer}-{svc.name}-{condition}",
                    "Namespace": "AWS/ECS",
                    "MetricName": metric,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                },
            )


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_one_rule_routes_this_customers_alarms_with_dlq_and_retries(templates, customer):
    [rule] = [
        r
        for r in resources(templates[customer], "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    names = sorted(watched_alarms(load_customer(customer)))
    assert pattern["source"] == ["aws.cloudwatch"] and pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert sorted(pattern["detail"]["alarmName"]) == names
    [target] = rule["Properties"]["Targets"]
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert "respond" in json.dumps(target["Arn"]).lower()


def _definition(sm: dict) -> dict:
    parts = sm["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "arn" for p in parts))


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_workflows_are_standard_named_logged_and_traced(templates, customer):
    machines = resources(templates[customer], "AWS::StepFunctions::StateMachine").values()
    names = {sm["Properties"]["StateMachineName"] for sm in machines}
    assert names == (
        {f"lecture-{customer}-respond", f"lecture-{customer}-mode-change"} | {f"lecture-{customer}-{r}" for r in RUNBOOKS}
    )
    for sm in machines:
        props = sm["Properties"]
        assert props.get("StateMachineType", "STANDARD") == "STANDARD"
        assert props["LoggingConfiguration"]["Level"] == "ALL" and props["TracingConfiguration"]["Enabled"]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_task_is_caught_and_lambda_retries_are_bounded(templates, customer):
    for sm in resources(templates[customer], "AWS::StepFunctions::StateMachine").values():
        states = _definition(sm)["States"]
        for name, state in states.items():
            if state["Type"] != "Task":
                continue
            if name not in ("RecordFailure", "Report", "ReportFailure"):
                assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), name
            for retry in state.get("Retry", []):
                assert retry["MaxAttempts"] <= 3 and retry["BackoffRate"] >= 1
            if state["Resource"] == "arn" or "lambda" in state["Resource"]:
                errors = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
                assert "Lambda.TooManyRequestsException" in errors, name


def test_respond_has_admit_page_remediate_record_and_a_never_silent_failure_path(templates):
    sm = next(
        s
        for s in resources(templates["dhbw"], "AWS::StepFunctions::StateMachine").values()
        if s["Properties"]["StateMachineName"].endswith("-respond")
    )
    states = _definition(sm)["States"]
    assert {
        "Admit",
        "Route",
        "Page",
        "Run scale-ecs-service",
        "Record",
        "Resolve",
        "Duplicate",
        "PageAutomationFailed",
        "RecordFailure",
        "Failed",
    } <= set(states)
    assert states["Run scale-ecs-service"]["Resource"].endswith(":states:startExecution.sync:2")
    assert states["PageAutomationFailed"]["Next"] == "RecordFailure" and states["Failed"]["Type"] == "Fail"


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_paging_parts(templates, customer):
    template = Template.from_json(templates[customer])
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": f"/lecture/{customer}/remediation/mode", "Value": "enforce"})
    # the routing key is never in the template: no secret is created and no environment holds a key
    template.resource_count_is("AWS::SecretsManager::Secret", 0)
    # one source of truth for the PagerDuty URL: the customer file, inside CUSTOMER_CONFIG; no parameter
    assert "PagerDutyEventsUrl" not in templates[customer].get("Parameters", {})
    for fn in resources(templates[customer], "AWS::Lambda::Function").values():
        env = fn["Properties"]["Environment"]["Variables"]
        assert "PAGERDUTY_EVENTS_URL" not in env
        assert json.loads(env["CUSTOMER_CONFIG"])["paging"]["pagerduty_events_url"] == "https://events.pagerduty.com/v2/enqueue"
        assert env["PAGERDUTY_SECRET_NAME"] == f"lecture/{customer}/pagerduty-routing-key"
        assert not any("ROUTING_KEY" in k for k in env)
        assert fn["Properties"]["Runtime"] in ("python3.12", "python3.13")
        assert "AWSLambdaPowertoolsPythonV3" in json.dumps(fn["Properties"]["Layers"])


READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "ConditionCheck")
# SendTaskSuccess / SendTaskFailure take a task token, which IAM cannot scope to a state machine: granted on '*' to
# the answer function alone (test_only_the_answer_function_answers_a_token)
TASK_ANSWERS = ["states:SendTaskFailure", "states:SendTaskSuccess"]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_write_action_is_scoped_to_the_customers_resources(templates, customer):
    config = load_customer(customer)
    account = config.account
    # S3 ARNs carry no account: a write there names objects (never a whole bucket) of the customer's state or
    # under its own prefix of the shared backup bucket
    own_objects = (
        f"arn:aws:s3:::{config.terraform.state_bucket}/{config.terraform.state_key}",
        f"arn:aws:s3:::{config.terraform.backup_bucket}/{config.terraform.backup_prefix}",
    )
    # the one write outside the customer's account: its incident events forwarded to the ops bus (issue 16)
    ops = load_ops()
    ops_bus = naming.ops_bus_arn(ops.region, ops.account)
    checked = 0
    for policy in resources(templates[customer], "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            writes = [
                a for a in actions if not a.split(":")[1].startswith(READ_PREFIXES) and not a.startswith(("xray:", "logs:"))
            ]
            if not writes:
                continue
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if sorted(writes) == TASK_ANSWERS and res == ["*"]:
                continue  # a task token is the only "resource": the answer function's, checked below
            for r in res:
                checked += 1
                assert r != "*", f"{writes} on '*'"
                text = json.dumps(r)
                if isinstance(r, str) and r.startswith("arn:aws:s3:::"):
                    assert r.startswith(own_objects), f"{writes} on {r}"
                    continue
                if r == ops_bus:
                    assert writes == ["events:PutEvents"], f"{writes} on the ops bus"
                    continue
                assert account in text or "Ref" in text or "Fn::GetAtt" in text, f"{writes} on {text}"
    assert checked > 5


def test_scaling_writes_name_the_exact_service(templates):
    stmts = [
        st
        for p in resources(templates["dhbw"], "AWS::IAM::Policy").values()
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    # scale-ecs-service's and maintenance-window's, each may be merged (minimizePolicies)
    updates = [st for st in stmts if "ecs:UpdateService" in st["Action"]]
    assert len(updates) == 2
    for update in updates:
        assert update["Resource"] == "arn:aws:ecs:eu-central-1:111111111111:service/lecture-dhbw-cluster/lecture-backend-service"


def test_runbook_audit_rows_go_through_the_audit_function_which_can_use_the_tables_key(templates):
    # (before issue 15 the state machine put its rows itself and held the key grant; now the audit function does)
    policies = resources(templates["dhbw"], "AWS::IAM::Policy")
    [machine] = [p for k, p in policies.items() if k.startswith("Runbookscaleecsservice") and "StateMachineRole" in k]
    [function] = [p for k, p in policies.items() if k.startswith("FoundationAuditFunctionRole")]

    def actions(policy):
        return {
            a
            for st in policy["Properties"]["PolicyDocument"]["Statement"]
            for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
        }

    assert "lambda:InvokeFunction" in actions(machine) and not {a for a in actions(machine) if a.startswith("dynamodb:")}
    assert {"dynamodb:PutItem", "kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt"} <= actions(function)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_workflow_failure_and_lost_event_raises_an_alarm_to_the_status_topic(templates, customer):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in resources(templates[customer], "AWS::CloudWatch::Alarm").values()
    }
    expected = {f"lecture-{customer}-remediation-{w}-failed" for w in ["respond", *RUNBOOKS]}
    expected.add(f"lecture-{customer}-remediation-dead-letters")
    assert expected <= set(alarms)
    for name in expected:
        assert alarms[name]["AlarmActions"], name


# the audit trail's daily export (stacks/audit_export.py): a schedule of the automation itself, not a runbook's
AUDIT_EXPORT_RULE = "lecture-dhbw-audit-export"


def test_schedules_start_respond_at_the_customers_times_with_dlq_and_retries(templates):
    # dhbw keeps the defaults: snapshot 02:00, backup 02:30 (UTC), lock check every 15 minutes
    rules = {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(templates["dhbw"], "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"] and r["Properties"]["Name"] != AUDIT_EXPORT_RULE
    }
    assert {n: p["ScheduleExpression"] for n, p in rules.items()} == {
        "lecture-dhbw-snapshot-rds-cluster": "cron(0 2 * * ? *)",
        "lecture-dhbw-backup-terraform-state": "cron(30 2 * * ? *)",
        "lecture-dhbw-check-state-lock": "rate(15 minutes)",
    }
    for props in rules.values():
        assert props["State"] == "ENABLED" and "EventPattern" not in props
        [target] = props["Targets"]
        assert "respond" in json.dumps(target["Arn"]).lower()
        assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 8


def test_a_switched_off_schedule_has_no_rule():
    config = load_customer("dhbw")
    off = config.model_copy(
        update={"schedules": config.schedules.model_copy(update={"state_backup": None, "lock_check_minutes": None})}
    )
    template = Template.from_stack(RemediationStack(cdk.App(), config=off))
    names = [
        r["Properties"]["Name"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert names == ["lecture-dhbw-snapshot-rds-cluster", AUDIT_EXPORT_RULE]  # (the export is the automation's own)


def test_an_rds_alarm_snapshots_before_the_page_and_the_page_carries_it(templates):
    sm = next(
        s
        for s in resources(templates["dhbw"], "AWS::StepFunctions::StateMachine").values()
        if s["Properties"]["StateMachineName"].endswith("-respond")
    )
    states = _definition(sm)["States"]
    first = states["Run snapshot-rds-cluster before page"]
    assert first["Resource"].endswith(":states:startExecution.sync:2") and first["Next"] == "PageWithOutcome"
    assert states["PageWithOutcome"]["Next"] == "Record"
    [route] = [c for c in states["Route"]["Choices"] if c.get("Next") == "Run snapshot-rds-cluster before page"]
    assert {"Variable": "$.admit.decision", "StringEquals": "remediate"} in route["And"]
    # a scheduled run goes to its runbook without the page
    assert {"Variable": "$.admit.decision", "StringEquals": "run", "Next": "Remediate?"} in states["Route"]["Choices"]


def test_respond_rechecks_the_alarm_without_a_lambda_and_reads_only_this_customers_alarms(templates):
    sm = next(
        s
        for s in resources(templates["dhbw"], "AWS::StepFunctions::StateMachine").values()
        if s["Properties"]["StateMachineName"].endswith("-respond")
    )
    states = _definition(sm)["States"]
    assert states["Record"]["Next"] == "Recheck?"
    assert states["WaitBeforeRecheck"]["Seconds"] == 15 * 60  # paging.recheck_minutes, default 15
    read = states["ReadAlarm"]
    assert read["Resource"].endswith(":states:::aws-sdk:cloudwatch:describeAlarms")
    assert read["Next"] == "StillInAlarm?" and read["Catch"][0]["Next"] == "PageAutomationFailed"
    [still] = states["StillInAlarm?"]["Choices"]
    assert still == {"Variable": "$.recheck.alarm.StateValue", "StringEquals": "ALARM", "Next": "Escalate"}
    c = load_customer("dhbw")
    role_policies = [
        p for p in resources(templates["dhbw"], "AWS::IAM::Policy").values() if "describeAlarms".lower() in json.dumps(p).lower()
    ]
    # the re-check's, and admit's (issue 15: it confirms an alarm event's state before it acts): both scoped alike
    statements = [
        st
        for p in role_policies
        for st in p["Properties"]["PolicyDocument"]["Statement"]
        if st["Action"] == "cloudwatch:DescribeAlarms"
    ]
    assert len(statements) == 2
    for statement in statements:
        assert sorted(statement["Resource"]) == sorted(
            f"arn:aws:cloudwatch:{c.region}:{c.account}:alarm:{name}" for name in watched_alarms(c)
        )


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_only_the_answer_function_answers_a_token_and_writes_verified_answers(templates, customer):
    template = templates[customer]
    roles = {logical: res for logical, res in resources(template, "AWS::Lambda::Function").items()}
    answer_role = next(
        json.dumps(fn["Properties"]["Role"])
        for fn in roles.values()
        if fn["Properties"].get("FunctionName") == f"lecture-{customer}-remediation-answer"
    )
    answering, writing = set(), set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            who = json.dumps(policy["Properties"]["Roles"])
            if st["Effect"] == "Allow" and set(actions) & set(TASK_ANSWERS):
                answering.add(who)
            keys = json.dumps(st.get("Condition", {}))
            if st["Effect"] == "Allow" and "dynamodb:PutItem" in actions and "answer#" in keys:
                writing.add(who)
    logical = json.loads(answer_role)["Fn::GetAtt"][0]
    assert answering == writing == {json.dumps([{"Ref": logical}])}
