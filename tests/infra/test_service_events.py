"""Down in seconds, on the synthesized templates: one rule per service event kind (its pattern the catalog's, the
customer's resources pinned), the respond target with retries and the DLQ, admit's read to confirm an ECS event, and
the down alarms at 60 s, 1 of 3."""

import json

import pytest

from catalog import watched_alarms
from catalog.service_events import SERVICE_EVENTS
from customers import known_customers, load_customer
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def _rules(template: dict) -> dict[str, dict]:
    return {r["Properties"]["Name"]: r["Properties"] for r in resources(template, "AWS::Events::Rule").values()}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_one_rule_per_service_event_kind_with_the_catalogs_pattern_to_respond(templates, customer):
    config = load_customer(customer)
    rules = _rules(templates[customer])
    alarm_rule = rules[f"lecture-{customer}-alarm-state-changes"]
    for kind in SERVICE_EVENTS.values():
        rule = rules[f"lecture-{customer}-{kind.name}"]
        assert rule["EventPattern"] == kind.pattern(config)
        assert rule["EventPattern"]["account"] == [config.account] and rule["EventPattern"]["region"] == [config.region]
        [target] = rule["Targets"]
        [alarm_target] = alarm_rule["Targets"]
        # the same respond workflow, retries and dead-letter queue as the alarm rule
        assert target["Arn"] == alarm_target["Arn"] and "respond" in json.dumps(target["Arn"]).lower()
        assert target["DeadLetterConfig"] == alarm_target["DeadLetterConfig"]
        assert target["RetryPolicy"] == alarm_target["RetryPolicy"]
    task = rules[f"lecture-{customer}-ecs-task-stopped"]["EventPattern"]["detail"]
    assert task["clusterArn"] == [f"arn:aws:ecs:{config.region}:{config.account}:cluster/{config.ecs.cluster}"]
    assert task["group"] == [f"service:{s.name}" for s in config.ecs.services]
    assert task["stoppedReason"] == [{"anything-but": {"prefix": "Scaling activity initiated by"}}]
    rds = rules[f"lecture-{customer}-rds-cluster-down"]["EventPattern"]["detail"]
    assert rds["SourceIdentifier"] == [config.rds.cluster]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_admit_may_describe_only_the_customers_services_to_confirm_an_ecs_event(templates, customer):
    config = load_customer(customer)
    roles = resources(templates[customer], "AWS::IAM::Policy")
    admit = [p for k, p in roles.items() if "AdmitFunction" in k]
    statements = [s for p in admit for s in p["Properties"]["PolicyDocument"]["Statement"]]
    [describe] = [s for s in statements if s["Action"] == "ecs:DescribeServices"]
    services = [
        f"arn:aws:ecs:{config.region}:{config.account}:service/{config.ecs.cluster}/{s.name}" for s in config.ecs.services
    ]
    assert describe["Resource"] == (services[0] if len(services) == 1 else services)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_the_down_alarms_evaluate_60_s_periods_1_of_3(templates, customer):
    config = load_customer(customer)
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in resources(templates[customer], "AWS::CloudWatch::Alarm").values()
    }
    down = [name for name, w in watched_alarms(config).items() if w.alarm.down]
    assert down  # every customer has a service and a cluster
    for name in down:
        a = alarms[name]
        assert (a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"]) == (60, 3, 1), name
    unavailable = alarms[f"lecture-{customer}-cluster-cluster-unavailable"]
    assert unavailable["TreatMissingData"] == "breaching" and unavailable["Statistic"] == "SampleCount"
    assert unavailable["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": config.rds.cluster}]
