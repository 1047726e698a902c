"""The Lambda, API Gateway and CloudFront alarms, and the overview dashboard, from the synthesized templates."""

import dataclasses
import json

import aws_cdk as cdk
import pytest

import app as cdk_app
from catalog import KINDS, RUNBOOKS, naming, watched_alarms
from catalog.alarms import AlarmKind
from catalog.severity import Severity
from customers import known_customers, load_customer
from stacks.remediation_stack import RemediationStack
from tests.infra.conftest import resources

FUNCTION_ALARMS = ("errors", "throttles", "duration-near-timeout")


def synth(config) -> dict:
    app = cdk.App(context=cdk_app.feature_flags())
    stack = RemediationStack(app, config=config)
    return app.synth().get_stack_by_name(stack.stack_name).template


def with_(customer: str, **changes):
    """The customer's config with changes, validated as a customer file would be."""
    base = load_customer(customer)
    return type(base).model_validate({**base.model_dump(), **changes})


def alarms(template: dict) -> dict[str, dict]:
    return {r["Properties"]["AlarmName"]: r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()}


def dashboard(template: dict) -> tuple[str, dict]:
    """The dashboard's name and its body, parsed (the region is the stack's)."""
    [props] = [r["Properties"] for r in resources(template, "AWS::CloudWatch::Dashboard").values()]
    body = props["DashboardBody"]
    text = "".join(p if isinstance(p, str) else "eu-central-1" for p in body["Fn::Join"][1]) if isinstance(body, dict) else body
    return props["DashboardName"], json.loads(text)


# --- the customer's Lambda function -------------------------------------------------------------------------


@pytest.mark.parametrize("customer", known_customers())
def test_every_customer_watches_its_function_with_errors_throttles_and_duration_alarms(templates, customer):
    found = alarms(templates[customer])
    for condition in FUNCTION_ALARMS:
        props = found[f"lecture-{customer}-function-{condition}"]
        assert props["Namespace"] == "AWS/Lambda"
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": f"lecture-{customer}-function"}]
    # the default timeout is the runbook's 30 s: the duration alarm fires at 80 % of it, in milliseconds
    duration = found[f"lecture-{customer}-function-duration-near-timeout"]
    assert (duration["MetricName"], duration["Statistic"], duration["Threshold"]) == ("Duration", "Maximum", 24000)


def test_the_duration_threshold_follows_the_customer_files_timeout_and_function():
    found = alarms(synth(with_("edt", function="edt-api-handler", function_timeout_seconds=120)))
    props = found["lecture-edt-edt-api-handler-duration-near-timeout"]
    assert props["Threshold"] == 96000
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": "edt-api-handler"}]


def test_lambda_alarms_page_only_and_the_page_role_reads_the_function(templates):
    for alarm in KINDS["lambda_function"].alarm_kinds:
        assert alarm.runbook is None and "operator runbooks" in alarm.no_runbook_reason
        assert alarm.severity == Severity.P2
    policies = json.dumps(
        [
            p
            for p in resources(templates["dhbw"], "AWS::IAM::Policy").values()
            if "PageFunction" in json.dumps(p["Properties"]["Roles"])
        ]
    )
    assert "arn:aws:lambda:eu-central-1:111111111111:function:lecture-dhbw-function" in policies
    assert "cloudwatch:GetMetricStatistics" in policies


# --- API Gateway and CloudFront: only when the customer file names them -------------------------------------


def test_no_api_or_cloudfront_alarms_without_an_api_or_a_distribution(templates):
    for template in templates.values():
        namespaces = {p["Namespace"] for p in alarms(template).values() if "Namespace" in p}
        assert not namespaces & {"AWS/ApiGateway", "AWS/CloudFront"}
        assert "apigateway:GET" not in json.dumps(resources(template, "AWS::IAM::Policy"))


def test_a_named_api_gets_5xx_and_latency_alarms_and_a_distribution_outside_us_east_1_gets_none():
    template = synth(with_("dhbw", api={"name": "lecture-dhbw-api", "stage": "live"}, cdn={"distribution_id": "E2QWRUHAPOMQZL"}))
    found = alarms(template)
    for condition, metric in (("5xx", "5XXError"), ("latency-high", "Latency")):
        props = found[f"lecture-dhbw-api-{condition}"]  # the prefix is not repeated
        assert (props["Namespace"], props["MetricName"]) == ("AWS/ApiGateway", metric)
        assert props["Dimensions"] == [{"Name": "ApiName", "Value": "lecture-dhbw-api"}, {"Name": "Stage", "Value": "live"}]
    # CloudFront's metrics live in us-east-1 only: an alarm in eu-central-1 could never read them
    assert not [p for p in found.values() if p.get("Namespace") == "AWS/CloudFront"]
    assert "apigateway:GET" in json.dumps(resources(template, "AWS::IAM::Policy"))
    assert "cloudfront:GetDistribution" not in json.dumps(resources(template, "AWS::IAM::Policy"))


def test_a_distribution_in_a_us_east_1_stack_gets_5xx_rate_and_cache_hit_rate_alarms():
    template = synth(with_("dhbw", region="us-east-1", cdn={"distribution_id": "E2QWRUHAPOMQZL"}))
    found = alarms(template)
    rate, hits = found["lecture-dhbw-E2QWRUHAPOMQZL-5xx-rate-high"], found["lecture-dhbw-E2QWRUHAPOMQZL-cache-hit-rate-low"]
    assert (rate["MetricName"], hits["MetricName"], hits["ComparisonOperator"]) == (
        "5xxErrorRate",
        "CacheHitRate",
        "LessThanThreshold",
    )
    assert rate["Dimensions"] == [{"Name": "DistributionId", "Value": "E2QWRUHAPOMQZL"}, {"Name": "Region", "Value": "Global"}]
    assert "arn:aws:cloudfront::111111111111:distribution/E2QWRUHAPOMQZL" in json.dumps(resources(template, "AWS::IAM::Policy"))


# --- the overview dashboard ---------------------------------------------------------------------------------


def resource_widgets(body: dict) -> dict[tuple, float]:
    """(namespace, metric, dimensions) -> threshold, for every graph of a watched metric."""
    found = {}
    for w in body["widgets"]:
        props = w["properties"]
        if "annotations" not in props:  # the automation's own graphs have no threshold
            continue
        for line in props["metrics"]:
            namespace, metric, *rest = [x for x in line if not isinstance(x, dict)]
            dims = dict(zip(rest[::2], rest[1::2], strict=True))
            [threshold] = props["annotations"]["horizontal"]
            found[(namespace, metric, tuple(sorted(dims.items())))] = threshold["value"]
    return found


def expected_widgets(config) -> dict[tuple, float]:
    return {
        (w.alarm.namespace, w.alarm.metric, tuple(sorted(w.kind.dimensions(config, w.target).items()))): w.alarm.threshold_for(
            config, w.target
        )
        for w in watched_alarms(config).values()
    }


@pytest.mark.parametrize("customer", known_customers())
def test_the_overview_dashboard_shows_the_metric_of_every_alarm_with_its_threshold(templates, customer):
    name, body = dashboard(templates[customer])
    assert name == f"Lecture-{customer}-Overview"
    config = load_customer(customer)
    assert resource_widgets(body) == expected_widgets(config)
    keys = {(ns, m) for ns, m, _ in resource_widgets(body)}
    # the runbook's key metrics: ECS tasks, CPU, memory; RDS connections, CPU; the function's errors, duration
    assert {
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Duration"),
    } <= keys


def test_a_new_alarm_kind_appears_on_the_dashboard_by_itself(monkeypatch):
    # given a new alarm kind declared in the catalog only
    ecs = KINDS["ecs_service"]
    new = AlarmKind(
        condition="network-high",
        description="x",
        namespace="AWS/ECS",
        metric="NetworkRxBytes",
        statistic="Sum",
        comparison="GreaterThanOrEqualToThreshold",
        threshold=12345,
        period_seconds=60,
        evaluation_periods=1,
        severity=Severity.P3,
        impact="x",
        no_runbook_reason="x",
    )
    monkeypatch.setitem(KINDS, "ecs_service", dataclasses.replace(ecs, alarm_kinds=(*ecs.alarm_kinds, new)))
    config = load_customer("edt")
    _, body = dashboard(synth(config))
    # then its metric is on the dashboard with its threshold, as the alarm is
    assert (
        resource_widgets(body)[
            ("AWS/ECS", "NetworkRxBytes", (("ClusterName", "lecture-edt-cluster"), ("ServiceName", "lecture-backend-service")))
        ]
        == 12345
    )
    assert resource_widgets(body) == expected_widgets(config)


def test_the_dashboard_shows_the_automations_health(templates):
    _, body = dashboard(templates["dhbw"])
    graphs = {w["properties"].get("title"): w["properties"] for w in body["widgets"] if w["type"] == "metric"}
    # executions started, succeeded and failed, for every workflow
    for workflow in ("respond", *RUNBOOKS, naming.MODE_CHANGE_WORKFLOW):
        lines = graphs[f"{workflow}: executions"]["metrics"]
        assert [line[1] for line in lines] == ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"]
    # outcomes by kind, per runbook, summed from its declared outcomes
    for rb in RUNBOOKS.values():
        lines = graphs[f"{rb.name}: outcomes by kind"]["metrics"]
        labels = [line[0]["label"] for line in lines if isinstance(line[0], dict) and "expression" in line[0]]
        assert labels == [k for k in ("ok", "skipped", "refused", "failed") if any(o.kind == k for o in rb.outcomes)]
        used = {line[1] for line in lines if not isinstance(line[0], dict)}
        assert used == {f"outcome_{o.name}" for o in rb.outcomes}
    # the DLQ depth and the pages sent, by kind
    [dlq] = graphs["Dead letters (events that could not start respond)"]["metrics"]
    assert dlq[:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
    pages = graphs["Pages sent (PagerDuty requests)"]["metrics"]
    assert [(line[1], dict(zip(line[2:-1:2], line[3:-1:2], strict=True))) for line in pages] == [
        ("pages_sent", {"kind": k, "service": "lecture-remediation"}) for k in ("trigger", "resolve", "change")
    ]
