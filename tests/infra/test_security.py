"""Issue 5, section 2: the security findings, asserted on the synthesized templates (moto enforces no
policy, so the sandbox cannot see these)."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

import app as cdk_app
from catalog import RUNBOOKS, audit_chain, naming
from catalog.runbooks import scheduled_runs
from catalog.security import SECURITY_EVENTS
from catalog.service_events import SERVICE_EVENTS
from customers import known_customers, load_customer
from stacks.remediation_stack import RemediationStack
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def _policy_statements(template: dict, logical_prefix: str) -> list[dict]:
    return [
        st
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if k.startswith(logical_prefix)
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(st: dict) -> list[str]:
    return st["Action"] if isinstance(st["Action"], list) else [st["Action"]]


def _state_machine(template: dict, suffix: str) -> dict:
    [sm] = [
        s
        for s in resources(template, "AWS::StepFunctions::StateMachine").values()
        if s["Properties"]["StateMachineName"].endswith(suffix)
    ]
    parts = sm["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "arn" for p in parts))


# 2.1 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_cloudwatch_may_publish_to_the_status_topic_only_for_this_customers_alarms(templates, customer):
    c = load_customer(customer)
    conditions = {
        "StringEquals": {"aws:SourceAccount": c.account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{c.region}:{c.account}:alarm:lecture-{customer}-*"},
    }
    [policy] = resources(templates[customer], "AWS::SNS::TopicPolicy").values()
    [allow] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"] == conditions
    # and the key lets CloudWatch use it under the same conditions
    [key] = resources(templates[customer], "AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    [cw] = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cw["Condition"] == conditions and set(_actions(cw)) == {"kms:Decrypt", "kms:GenerateDataKey*"}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_cloudwatch_logs_may_use_the_key_only_for_this_stacks_log_groups(templates, customer):
    c = load_customer(customer)
    [key] = resources(templates[customer], "AWS::KMS::Key").values()
    [logs] = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": f"logs.{c.region}.amazonaws.com"}
    ]
    allowed = set(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    groups = {g["Properties"]["LogGroupName"] for g in resources(templates[customer], "AWS::Logs::LogGroup").values()}
    assert allowed == {f"arn:aws:logs:{c.region}:{c.account}:log-group:{g}" for g in groups}
    assert len(groups) >= 7 and all(f"lecture-{customer}-" in g for g in groups)


# 2.2 --------------------------------------------------------------------------------------------
def test_synth_refuses_a_customer_file_that_pages_another_host(tmp_path, monkeypatch, capsys):
    import customers

    bad = (
        customers.CUSTOMERS_DIR / "dhbw.yaml"
    ).read_text() + "paging:\n  pagerduty_events_url: https://hooks.example.com/v2/enqueue\n"
    (tmp_path / "dhbw.yaml").write_text(bad)
    monkeypatch.setattr(cdk_app, "load_all", lambda: customers.load_all(tmp_path))
    assert cdk_app.main() == 1
    err = capsys.readouterr().err
    assert "paging.pagerduty_events_url" in err and "https://events.eu.pagerduty.com/v2/enqueue" in err


# 2.3 --------------------------------------------------------------------------------------------
def test_registering_scalable_targets_is_limited_to_ecs_service_desired_count(templates):
    [st] = [
        s
        for s in _policy_statements(templates["dhbw"], "RunbookscaleecsserviceFunctionRole")
        if "application-autoscaling:RegisterScalableTarget" in _actions(s)
    ]
    assert _actions(st) == ["application-autoscaling:RegisterScalableTarget"]
    assert st["Resource"] == "arn:aws:application-autoscaling:eu-central-1:111111111111:scalable-target/*"
    assert st["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "ecs",
            "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount",
        }
    }


# 2.4 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_rule_matches_the_customers_account_and_region_only(templates, customer):
    c = load_customer(customer)
    every_rule = resources(templates[customer], "AWS::Events::Rule").values()
    rules = [r for r in every_rule if "EventPattern" in r["Properties"]]
    # the alarms', the mode switch's, one per security event kind, one per service event kind (ECS, RDS) and the
    # incident events' forwarding to the ops bus (issue 16); the others are the runbooks' schedules
    assert len(rules) == 3 + len(SECURITY_EVENTS) + len(SERVICE_EVENTS)
    assert len(every_rule) - len(rules) == len(scheduled_runs(c)) + 1  # + the audit trail's daily export
    for rule in rules:
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["account"] == [c.account] and pattern["region"] == [c.region]


# 2.6 --------------------------------------------------------------------------------------------
def test_a_failed_failure_page_falls_back_to_a_direct_publish_to_the_status_topic(templates):
    states = _state_machine(templates["dhbw"], "-respond")["States"]
    page_failure = states["PageAutomationFailed"]
    [catch] = page_failure["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "NotifyAutomationFailed"
    notify = states["NotifyAutomationFailed"]
    assert notify["Resource"].endswith(":states:::sns:publish") and "lambda" not in json.dumps(notify)
    assert notify["Next"] == "RecordFailure" and notify["Catch"][0]["Next"] == "RecordFailure"
    assert states["RecordFailure"]["Next"] == "Failed"
    # the respond role may publish to the (encrypted) topic
    stmts = _policy_statements(templates["dhbw"], "RespondStateMachineRole")
    assert any("sns:Publish" in _actions(s) and s["Resource"] == {"Ref": _topic_id(templates["dhbw"])} for s in stmts)
    assert any("kms:GenerateDataKey*" in _actions(s) for s in stmts)


def _topic_id(template: dict) -> str:
    [topic_id] = resources(template, "AWS::SNS::Topic")
    return topic_id


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_function_has_the_customers_reserved_concurrency(templates, customer):
    value = load_customer(customer).lambda_reserved_concurrency
    assert value == 2  # the default, on
    functions = resources(templates[customer], "AWS::Lambda::Function").values()
    assert functions and all(f["Properties"]["ReservedConcurrentExecutions"] == value for f in functions)


def test_reserved_concurrency_can_be_switched_off():
    config = load_customer("edt").model_copy(update={"lambda_reserved_concurrency": 0})
    stack = RemediationStack(cdk.App(context=cdk_app.feature_flags()), config=config)
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    assert functions and all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions.values())


# 2.7 --------------------------------------------------------------------------------------------
# Each function gets only the state actions it uses (the least-privilege check over the e2e suite
# lists any that no test calls): admit's claim/open/close transaction, record's "still open?" read,
# a runbook's cooldown and remembered floor.
STATE_ACTIONS = {
    "RespondAdmitFunctionRole": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    "RespondRecordFunctionRole": {"dynamodb:GetItem"},
    # UpdateItem: the floor restore writes into an open maintenance window's record (issue 15)
    "RunbookscaleecsserviceFunctionRole": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"},
}


@pytest.mark.parametrize("role", sorted(STATE_ACTIONS))
def test_functions_can_only_put_audit_rows(templates, role):
    dynamo = [s for s in _policy_statements(templates["dhbw"], role) if any(a.startswith("dynamodb:") for a in _actions(s))]
    by_keys = {tuple(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]): set(_actions(s)) for s in dynamo}
    assert len(by_keys) == len(dynamo) == 3, "every table statement carries a LeadingKeys condition"
    assert by_keys[("audit#*",)] == {"dynamodb:PutItem"}
    # the hash chain's head: read, and moved on in the same transaction as the row (Store.audit)
    assert by_keys[(audit_chain.CHAIN_HEAD_PK,)] == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    state = [k for k in by_keys if k not in (("audit#*",), (audit_chain.CHAIN_HEAD_PK,))]
    assert state == [tuple(f"{p}*" for p in STATE_PREFIXES[role])]  # its own prefixes only (issue 15, Low 3)
    assert not any(k.startswith("audit") for k in state[0]) and by_keys[state[0]] == STATE_ACTIONS[role]


STATE_PREFIXES = {
    "RespondAdmitFunctionRole": naming.FUNCTION_KEY_PREFIXES["admit"],
    "RespondRecordFunctionRole": naming.FUNCTION_KEY_PREFIXES["record"],
    "RunbookscaleecsserviceFunctionRole": RUNBOOKS["scale-ecs-service"].table_prefixes,
}


def _table_keys(template: dict, role_prefix: str) -> dict[str, set[str]]:
    """action -> the key patterns the role's Allow statements on the table grant it on."""
    found: dict[str, set[str]] = {}
    for st in _policy_statements(template, role_prefix):
        if st["Effect"] != "Allow" or "FoundationTable" not in json.dumps(st["Resource"]):
            continue  # (a runbook's grants on the customer's own tables, e.g. the Terraform lock table, apart)
        for a in _actions(st):
            if a.startswith("dynamodb:"):
                keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                found.setdefault(a, set()).update(keys)
    return found


def _may(patterns: set[str], key: str) -> bool:
    return any(key.startswith(p.removesuffix("*")) if p.endswith("*") else key == p for p in patterns)


def test_tune_lambdas_role_cannot_read_approval_tokens_nor_other_rows(templates):
    # (issue 15, Low 3: every function could read and delete every state prefix, approval# included)
    keys = _table_keys(templates["dhbw"], "RunbooktunelambdaFunctionRole")
    assert not _may(keys["dynamodb:GetItem"], naming.APPROVALS_PK)
    assert not _may(keys["dynamodb:PutItem"], naming.ANSWERS_PK)  # (it reads the verified answer: act's proof)
    assert not _may(keys["dynamodb:GetItem"], "state#lecture-dhbw-backend-cpu-high")  # the alarms' state rows
    assert _may(keys["dynamodb:GetItem"], "state#tune-lambda#lecture-dhbw-api")  # its own remembered values
    assert "dynamodb:DeleteItem" not in keys


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS))
def test_each_runbook_gets_only_its_declared_prefixes(templates, runbook):
    rb = RUNBOOKS[runbook]
    keys = _table_keys(templates["dhbw"], f"Runbook{runbook.replace('-', '')}FunctionRole")
    state = {k for patterns in keys.values() for k in patterns} - {"audit#*", audit_chain.CHAIN_HEAD_PK, "answer#*"}
    assert state == {f"{p}*" for p in rb.table_prefixes}
    assert not _may(state, naming.APPROVALS_PK) and not _may(state, "claim#x")


@pytest.mark.parametrize("workflow", ["scale-ecs-service", "maintenance-window", "mode-change"])
def test_workflows_write_their_audit_rows_through_the_audit_function_and_touch_no_table_row(templates, workflow):
    # (issue 15: a row a state machine put itself could not join the hash chain)
    template = templates["dhbw"]
    [role] = [
        k
        for k, r in resources(template, "AWS::IAM::Role").items()
        if "states.amazonaws.com" in json.dumps(r) and workflow.replace("-", "") in k.lower().replace("-", "")
    ]
    statements = [
        st
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if any(ref == {"Ref": role} for ref in p["Properties"]["Roles"])
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert not [a for st in statements for a in _actions(st) if a.startswith("dynamodb:")]
    states = _state_machine(template, f"-{workflow}")["States"]
    assert not [s for s in states.values() if "dynamodb:" in str(s.get("Resource"))]
    audits = {name: s for name, s in states.items() if name in naming.AUDIT_STATES}
    # a Lambda task (its Resource the function's ARN), the state's data going on unchanged
    assert audits and all(s["Type"] == "Task" and s["Resource"] == "arn" and s["ResultPath"] is None for s in audits.values())
    for s in audits.values():
        assert s["Parameters"]["execution_arn.$"] == "$$.Execution.Id" and s["Parameters"]["workflow"] == workflow
    [sm] = [
        r
        for r in resources(template, "AWS::StepFunctions::StateMachine").values()
        if r["Properties"]["StateMachineName"].endswith(f"-{workflow}")
    ]
    assert "FoundationAuditFunction" in json.dumps(sm["Properties"]["DefinitionString"])


def test_the_audit_function_may_append_audit_rows_and_move_the_chain_head_only(templates):
    dynamo = [
        s
        for s in _policy_statements(templates["dhbw"], "FoundationAuditFunctionRole")
        if any(a.startswith("dynamodb:") for a in _actions(s))
    ]
    by_keys = {tuple(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]): set(_actions(s)) for s in dynamo}
    assert by_keys == {
        ("audit#*",): {"dynamodb:PutItem"},
        (audit_chain.CHAIN_HEAD_PK,): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    }


def test_every_prefix_the_store_writes_is_declared():
    import re
    from pathlib import Path

    store = (Path(__file__).resolve().parents[2] / "lambdas" / "logic" / "store.py").read_text()
    used = set(re.findall(r'f"([a-z]+#)\{', store))
    assert used and used <= set(naming.STATE_KEY_PREFIXES) | {naming.AUDIT_KEY_PREFIX}
    assert audit_chain.CHAIN_HEAD_PK.startswith(audit_chain.CHAIN_KEY_PREFIX)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_workflow_log_groups_outlive_the_stack(templates, customer):
    groups = resources(templates[customer], "AWS::Logs::LogGroup").values()
    workflows = [g for g in groups if g["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")]
    assert len(workflows) == 2 + len(RUNBOOKS)  # respond, mode-change and one per runbook
    assert all(g["DeletionPolicy"] == "Retain" and g["UpdateReplacePolicy"] == "Retain" for g in workflows)


# 2.8 --------------------------------------------------------------------------------------------
def test_changes_of_the_mode_switch_reach_a_workflow_whose_only_lambda_is_the_audit_function(templates):
    template = templates["dhbw"]
    parameter = "/lecture/dhbw/remediation/mode"
    # (the security rule for the mode switch matches the same calls: it pages, this one notifies)
    [rule] = [
        r for r in resources(template, "AWS::Events::Rule").values() if r["Properties"].get("Name") == "lecture-dhbw-mode-changes"
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    by_event = {e: alt["requestParameters"] for alt in pattern["detail"]["$or"] for e in alt["eventName"]}
    assert parameter in by_event["PutParameter"]["name"] and parameter in by_event["DeleteParameter"]["name"]
    assert parameter in by_event["DeleteParameters"]["names"]
    assert "ModeChangesStateMachine" in json.dumps(rule["Properties"]["Targets"])
    states = _state_machine(template, "-mode-change")["States"]
    used = sorted(s["Resource"].split(":states:::")[-1] for s in states.values() if s["Type"] == "Task")
    assert used == ["arn", "aws-sdk:ssm:getParameter", "sns:publish"]  # arn: the Audit state's Lambda (the audit function)
    # the row's fields as before; the audit function appends it to the hash chain, never over another row
    assert states["Audit"]["Parameters"]["record"]["who.$"] == "$.who.value"
    assert states["Audit"]["Parameters"]["step"] == "mode-change"


# 2.9 --------------------------------------------------------------------------------------------
def test_no_wildcard_is_acknowledged_stack_wide_so_a_new_one_is_flagged(tmp_path):
    # given the real stack, plus a new role with a '*' that nobody acknowledged
    application = cdk.App(outdir=str(tmp_path), context=cdk_app.feature_flags())
    stack = RemediationStack(application, config=load_customer("dhbw"))
    role = iam.Role(stack, "NewRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]))
    cdk.Validations.of(application).add_plugins(AwsSolutionsChecks(application))
    # then cdk-nag reports it, on that role only
    with pytest.raises(Exception, match=r"IAM5\[Resource::\*\]"):
        application.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    [nag] = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    flagged = {(v["ruleName"], c["constructPath"]) for v in nag["violations"] for c in v["violatingConstructs"]}
    assert flagged == {("AwsSolutions-IAM5[Resource::*]", "lecture-dhbw-remediation/NewRole/DefaultPolicy/Resource")}


# 2.10 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_respond_polls_only_executions_of_the_exact_runbook_state_machines(templates, customer):
    c = load_customer(customer)
    stmts = [
        s
        for s in _policy_statements(templates[customer], "RespondStateMachineRole")
        if {"states:DescribeExecution", "states:StopExecution"} & set(_actions(s))
    ]
    resources_ = [r for s in stmts for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert sorted(resources_) == sorted(
        f"arn:aws:states:{c.region}:{c.account}:execution:lecture-{customer}-{name}:*"
        for name, rb in RUNBOOKS.items()
        if rb.workflow == "guarded"
    )


# Section 6: feature flags ----------------------------------------------------------------------------
def test_the_recommended_feature_flags_apply_also_without_the_cli():
    flags = cdk_app.feature_flags()
    assert len(flags) > 80 and flags["@aws-cdk/aws-iam:minimizePolicies"] is True
    application = cdk_app.build_app("dhbw")
    assert all(application.node.try_get_context(k) == v for k, v in flags.items())


@pytest.mark.parametrize("role", ["RespondPageFunctionRole", "RespondRecordFunctionRole"])
def test_the_routing_key_is_readable_only_by_name_and_only_by_the_paging_functions(templates, role):
    # given the paging functions' statements on Secrets Manager
    secrets = [
        s for s in _policy_statements(templates["dhbw"], role) if any(a.startswith("secretsmanager:") for a in _actions(s))
    ]
    # then they may only read the value of the teams' routing keys (Secrets Manager adds 6 random characters)
    assert [(_actions(s), s["Resource"]) for s in secrets] == [
        (
            ["secretsmanager:GetSecretValue"],
            [
                "arn:aws:secretsmanager:eu-central-1:111111111111:secret:lecture/dhbw/pagerduty-routing-key-??????",
                "arn:aws:secretsmanager:eu-central-1:111111111111:secret:lecture/dhbw/pagerduty-security-routing-key-??????",
            ],
        )
    ]
    others = [
        s
        for r in ("RespondAdmitFunctionRole", "RunbookscaleecsserviceFunctionRole")
        for s in _policy_statements(templates["dhbw"], r)
        if "secretsmanager" in json.dumps(s)
    ]
    assert others == []
