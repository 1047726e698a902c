"""Detection time per "down" alarm kind (issue 16, item 4), derived from a synthesized template, not measured.

Each down kind (catalog/alarms.py, ``down=True``) has two paths into the respond workflow:
- its alarm: worst case Period x DatapointsToAlarm (M of "M of N"; EvaluationPeriods when none is set), as the
  template sets them (CloudWatch's own delay in publishing a metric comes on top, and is not counted);
- the service events that open the same incident (catalog/service_events.py), when the template has their rule:
  EventBridge delivers within seconds; the budget is an assumption (DELIVERY_BUDGET_SECONDS), stated as such.
The kind's detection is the faster path; the goal is at most 60 s for every down kind. The template is dhbw's, with
an API named (the API Gateway alarms exist only for a customer file that names one), synthesized as `cdk synth` does.
"""

from typing import Any

from catalog import watched_alarms
from catalog.alarms import ALARMS_BY_KIND
from catalog.service_events import DELIVERY_BUDGET_SECONDS, down_event_kinds
from customers import load_customer

GOAL_SECONDS = 60
# The runbook's own example alarm (ECS-Service-TaskCount-Low: period 300, 2 evaluation periods), before issue 16
BEFORE = {"ecs_service/running-tasks-low": 600}


def example_config() -> Any:
    base = load_customer("dhbw")
    return type(base).model_validate({**base.model_dump(), "api": {"name": "lecture-dhbw-api"}})


def synthesized_template(config: Any) -> dict[str, Any]:
    import os

    from sandbox.synth import QUIET_NODE

    for key, value in QUIET_NODE.items():  # jsii's Node version banners, before aws_cdk loads
        os.environ.setdefault(key, value)
    import aws_cdk as cdk

    import app as cdk_app
    from stacks.remediation_stack import RemediationStack

    app = cdk.App(context=cdk_app.feature_flags())
    stack = RemediationStack(app, config=config)
    return dict(app.synth().get_stack_by_name(stack.stack_name).template)


def detection(template: dict[str, Any], config: Any) -> dict[str, Any]:
    resources = template["Resources"].values()
    alarms = {r["Properties"]["AlarmName"]: r["Properties"] for r in resources if r["Type"] == "AWS::CloudWatch::Alarm"}
    rules = {r["Properties"].get("Name"): r["Properties"] for r in resources if r["Type"] == "AWS::Events::Rule"}
    watched = watched_alarms(config)
    out: dict[str, Any] = {}
    for kind, kinds in ALARMS_BY_KIND.items():
        for a in kinds:
            if not a.down:
                continue
            key = f"{kind}/{a.condition}"
            names = [n for n, w in watched.items() if (w.kind.name, w.alarm.condition) == (kind, a.condition)]
            props = alarms.get(names[0]) if names else None
            entry: dict[str, Any] = {"goal_seconds": GOAL_SECONDS}
            paths = []
            if props is not None:
                m = props.get("DatapointsToAlarm") or props["EvaluationPeriods"]
                seconds = int(props["Period"]) * int(m)
                entry["alarm"] = {
                    "name": names[0],
                    "period_seconds": int(props["Period"]),
                    "evaluation_periods": int(props["EvaluationPeriods"]),
                    "datapoints_to_alarm": props.get("DatapointsToAlarm"),
                    "worst_case_seconds": seconds,
                }
                paths.append(seconds)
            events = [k for k in down_event_kinds(kind, a.condition) if k.rule_name(config.customer) in rules]
            if events:
                entry["events"] = {
                    "rules": [k.rule_name(config.customer) for k in events],
                    "assumed_delivery_seconds": DELIVERY_BUDGET_SECONDS,
                }
                paths.append(DELIVERY_BUDGET_SECONDS)
            entry["worst_case_seconds"] = min(paths) if paths else None
            entry["meets_goal"] = bool(paths) and min(paths) <= GOAL_SECONDS
            if key in BEFORE:
                entry["before_seconds"] = BEFORE[key]
            out[key] = entry
    return out


def detection_figures() -> dict[str, Any]:
    config = example_config()
    return {
        "template": f"lecture-{config.customer}-remediation (with api {config.api.name})",
        "kinds": detection(synthesized_template(config), config),
    }


def print_detection(figures: dict[str, Any]) -> None:
    print(f"detection per down kind, from the synthesized template {figures['template']} (goal <= {GOAL_SECONDS} s):")
    for key, e in figures["kinds"].items():
        alarm = e.get("alarm")
        parts = []
        if alarm:
            m = alarm["datapoints_to_alarm"] or alarm["evaluation_periods"]
            parts.append(
                f"alarm {alarm['period_seconds']} s x {m} of {alarm['evaluation_periods']} = {alarm['worst_case_seconds']} s"
            )
        if "events" in e:
            parts.append(
                f"events {', '.join(e['events']['rules'])}: <= {e['events']['assumed_delivery_seconds']} s (assumed delivery)"
            )
        before = f", before: {e['before_seconds']} s" if "before_seconds" in e else ""
        verdict = "meets the goal" if e["meets_goal"] else "MISSES the goal"
        print(f"  {key:<34} worst case {e['worst_case_seconds']} s ({'; '.join(parts)}){before}: {verdict}")
