"""The fleet's templates (issue 16): the ops stack's bus, correlation, OAM sink and dashboard; each customer
stack's forwarding rule, its role, its OAM link, and the incident-event grant of admit and record.

moto does not enforce resource policies or IAM: what the bus accepts and who may do what is proven here."""

import json

import pytest

import app as cdk_app
from catalog import naming
from customers import load_all, load_ops
from tests.infra.conftest import resources

OPS = load_ops()
CUSTOMERS = {c.customer: c for c in load_all()}
BUS_ARN = naming.ops_bus_arn(OPS.region, OPS.account)


def _one(template: dict, rtype: str) -> dict:
    [found] = resources(template, rtype).values()
    return found["Properties"]


def _statements(template: dict, role_logical_id: str) -> list[dict]:
    return [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _role_of_function(template: dict, function_name: str) -> str:
    [fn] = [f for f in resources(template, "AWS::Lambda::Function").values() if f["Properties"]["FunctionName"] == function_name]
    return fn["Properties"]["Role"]["Fn::GetAtt"][0]


def _actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else a


def test_the_bus_policy_names_exactly_the_customer_accounts(ops_template):
    # the customer files' accounts, declared there once; only PutEvents, only on this bus
    [policy] = resources(ops_template, "AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert sorted(statement["Principal"]["AWS"]) == sorted(f"arn:aws:iam::{c.account}:root" for c in CUSTOMERS.values())
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    [bus_id] = resources(ops_template, "AWS::Events::EventBus")
    assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert policy["Properties"]["EventBusName"] == {"Ref": bus_id}
    assert _one(ops_template, "AWS::Events::EventBus")["Name"] == naming.ops_bus_name()


def test_an_account_that_is_no_customers_is_not_in_the_bus_policy(ops_template):
    [policy] = resources(ops_template, "AWS::Events::EventBusPolicy").values()
    principals = json.dumps(policy["Properties"]["Statement"]["Principal"])
    assert "123456789012" not in principals and OPS.account not in principals
    assert "*" not in principals  # no Principal "*" with an org condition either: the accounts themselves


def test_the_incident_rule_starts_correlate_on_the_ops_bus(ops_template):
    [rule] = [r["Properties"] for r in resources(ops_template, "AWS::Events::Rule").values()]
    [bus_id] = resources(ops_template, "AWS::Events::EventBus")
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["EventPattern"] == {"source": [naming.INCIDENT_EVENT_SOURCE], "detail-type": [naming.INCIDENT_EVENT_DETAIL_TYPE]}
    [target] = rule["Targets"]
    [machine_id] = resources(ops_template, "AWS::StepFunctions::StateMachine")
    assert target["Arn"] == {"Ref": machine_id} and "DeadLetterConfig" in target
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    machine = _one(ops_template, "AWS::StepFunctions::StateMachine")
    assert machine["StateMachineName"] == naming.state_machine_name(naming.OPS, naming.CORRELATE_WORKFLOW)


def test_the_correlate_function_may_use_the_fleet_table_and_the_p0_secret_only(ops_template):
    role = _role_of_function(ops_template, naming.function_name(naming.OPS, naming.CORRELATE_WORKFLOW))
    statements = _statements(ops_template, role)
    [table_id] = resources(ops_template, "AWS::DynamoDB::Table")
    [topic_id] = resources(ops_template, "AWS::SNS::Topic")
    by_action = {a: s["Resource"] for s in statements for a in _actions(s)}
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"):
        assert by_action[action] == {"Fn::GetAtt": [table_id, "Arn"]}
    assert "dynamodb:Scan" not in by_action  # the cost per event stays constant: never a scan
    assert (
        by_action["secretsmanager:GetSecretValue"]
        == [f"arn:aws:secretsmanager:{OPS.region}:{OPS.account}:secret:{OPS.paging.pagerduty_secret_name}-??????"][0]
    )
    assert by_action["sns:Publish"] == {"Ref": topic_id}
    writes = [a for a in by_action if not a.startswith(("logs:", "xray:", "kms:"))]
    assert sorted(writes) == sorted(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
        + ["secretsmanager:GetSecretValue", "sns:Publish"]
    )


@pytest.mark.parametrize("customer", sorted(CUSTOMERS))
def test_each_customer_forwards_its_incident_events_to_the_ops_bus_with_its_own_role(templates, customer):
    template, config = templates[customer], CUSTOMERS[customer]
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == naming.forward_rule_name(customer)
    ]
    assert "EventBusName" not in rule  # the customer's default bus, where admit and record put them
    assert rule["EventPattern"] == {
        "source": [naming.INCIDENT_EVENT_SOURCE],
        "detail-type": [naming.INCIDENT_EVENT_DETAIL_TYPE],
        "account": [config.account],
        "region": [config.region],
    }
    [target] = rule["Targets"]
    assert target["Arn"] == BUS_ARN and "DeadLetterConfig" in target
    role = target["RoleArn"]["Fn::GetAtt"][0]
    trust = resources(template, "AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    assert _statements(template, role) == [{"Action": "events:PutEvents", "Effect": "Allow", "Resource": BUS_ARN}]


@pytest.mark.parametrize("component", ["admit", "record"])
def test_admit_and_record_may_put_events_on_their_own_default_bus_only(templates, component):
    for customer, template in templates.items():
        config = CUSTOMERS[customer]
        role = _role_of_function(template, naming.function_name(customer, component))
        puts = [s for s in _statements(template, role) if "events:PutEvents" in _actions(s)]
        assert puts == [
            {
                "Action": "events:PutEvents",
                "Effect": "Allow",
                "Resource": f"arn:aws:events:{config.region}:{config.account}:event-bus/default",
            }
        ]


def test_only_admit_and_record_may_put_events(templates):
    template = templates["dhbw"]
    puts = {
        rid
        for rid, p in resources(template, "AWS::IAM::Policy").items()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "events:PutEvents" in _actions(s)
    }
    roles = {resources(template, "AWS::IAM::Policy")[p]["Properties"]["Roles"][0]["Ref"] for p in puts}
    expected = {_role_of_function(template, naming.function_name("dhbw", c)) for c in ("admit", "record")}
    forward = [r for r in resources(template, "AWS::IAM::Role") if r.startswith("FleetForwardRole")]
    assert roles == expected | set(forward)


def test_the_oam_sink_admits_the_customer_accounts_and_each_customer_links_to_it(ops_template, templates):
    sink = _one(ops_template, "AWS::Oam::Sink")
    [statement] = sink["Policy"]["Statement"]
    assert sorted(statement["Principal"]["AWS"]) == sorted(c.account for c in CUSTOMERS.values())
    assert statement["Condition"] == {"ForAllValues:StringEquals": {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]}}
    assert sink["Name"] == naming.oam_sink_name()
    for customer, template in templates.items():
        link = _one(template, "AWS::Oam::Link")
        assert link["SinkIdentifier"] == OPS.observability.sink_arn
        assert link["ResourceTypes"] == ["AWS::CloudWatch::Metric"] and link["LabelTemplate"] == naming.group(customer)


def test_the_fleet_dashboard_reads_each_customers_down_alarms_and_incidents_from_its_own_account(ops_template):
    dashboard = _one(ops_template, "AWS::CloudWatch::Dashboard")
    assert dashboard["DashboardName"] == naming.FLEET_DASHBOARD
    body = dashboard["DashboardBody"]
    text = "".join(p if isinstance(p, str) else json.dumps(p) for p in body["Fn::Join"][1]) if isinstance(body, dict) else body
    for config in CUSTOMERS.values():
        assert f"{config.customer}: down alarms' metrics (account {config.account})" in text
        assert f"{config.customer}: incidents opened" in text
        assert f'"accountId":"{config.account}"' in text  # the customer's own metric through the link, not a copy
    assert "RunningTaskCount" in text  # running-tasks-low: a "down" kind
    # a CPU warning is not "down": the ECS services' CPU is not there (the Aurora cluster's CPUUtilization is, as its
    # SampleCount: cluster-unavailable, a "down" kind)
    assert '"AWS/ECS","CPUUtilization"' not in text and '"stat":"SampleCount"' in text


def test_the_ops_stack_alone_with_customer_ops(tmp_path):
    application = cdk_app.build_app(customer="ops", outdir=str(tmp_path))
    assert [s.stack_name for s in application.node.children if hasattr(s, "stack_name")] == [naming.ops_stack_name()]
    assert application.node.find_child(naming.ops_stack_name()).region == OPS.region
