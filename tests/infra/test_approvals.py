"""Approvals in the template: the state machines log no execution data (a wait's task token, a plan), act and the
approval function get the execution's ARN to check with Step Functions, and only the answer function answers."""

import json

import pytest
from aws_cdk.assertions import Match, Template

from catalog import RUNBOOKS, naming
from customers import known_customers
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_state_machine_logs_its_events_without_their_data(templates, customer):
    template = Template.from_json(templates[customer])
    template.all_resources_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": False})},
    )


def _states(template: dict, machine_name: str) -> dict:
    machine = next(
        r
        for r in resources(template, "AWS::StepFunctions::StateMachine").values()
        if r["Properties"]["StateMachineName"] == machine_name
    )
    body = machine["Properties"]["DefinitionString"]
    text = "".join(p if isinstance(p, str) else "REF" for p in body["Fn::Join"][1]) if isinstance(body, dict) else body
    return json.loads(text)["States"]


@pytest.mark.parametrize("runbook", [rb.name for rb in RUNBOOKS.values() if rb.approval])
def test_an_approval_runbook_hands_its_execution_to_act_and_to_the_approval_steps(templates, runbook):
    states = _states(templates["dhbw"], f"lecture-dhbw-{runbook}")

    def payload(name: str) -> dict:
        given = states[name]["Parameters"]
        return given.get("Payload", given)  # a task token's invoke wraps it, a response-only one does not

    act = "ScaleDown" if RUNBOOKS[runbook].workflow == "maintenance" else "Act"  # the step that proves it
    for name in (act, "WaitForApproval", "RecordAnswer"):
        assert payload(name)["execution_arn.$"] == "$$.Execution.Id", name
    assert payload(act)["plan.$"] == "$.plan"  # the plan approved: no step between writes $.plan
    # the token goes to the approval function only (and a maintenance window's done); the plan's digest is taken there
    assert payload("WaitForApproval")["token.$"] == "$$.Task.Token"
    assert payload("WaitForApproval")["plan.$"] == "$.plan"
    assert not any("$$.Task.Token" in json.dumps(s) for n, s in states.items() if n not in naming.REQUEST_STATES)


def test_the_maintenance_window_asks_before_it_books_and_waits_until_its_time(templates):
    states = _states(templates["dhbw"], "lecture-dhbw-maintenance-window")
    # approved first: the approval's Choice leads to the booking (or straight to the start)
    assert states["Proceed?"]["Choices"][0]["Next"] == "NeedsApproval?"
    assert states["Approved?"]["Choices"][0]["Next"] == "Booked?"
    assert states["Booked?"]["Choices"][0] == {"Variable": "$.plan.starts_at", "IsPresent": True, "Next": "NotifyBooked"}
    assert states["Booked?"]["Default"] == "NotifyStart"
    # the notice, the wait until the reminder, the reminder, the wait until the booked time: on Step Functions' clock
    assert states["NotifyBooked"]["Next"] == "WaitForReminder"
    assert states["WaitForReminder"] == {
        "Type": "Wait",
        "Comment": "until the reminder",
        "TimestampPath": "$.plan.remind_at",
        "Next": "Remind",
    }
    assert states["Remind"]["Next"] == "WaitForStart"
    assert states["WaitForStart"]["TimestampPath"] == "$.plan.starts_at" and states["WaitForStart"]["Next"] == "NotifyStart"
    # nothing between the approval and scale_down writes the plan (its digest is what was approved)
    for name in ("NotifyBooked", "Remind", "NotifyStart"):
        assert states[name]["ResultPath"] == "$.notified", name


def test_the_maintenance_windows_time_out_covers_its_longest_booking(templates):
    machine = next(
        r
        for r in resources(templates["dhbw"], "AWS::StepFunctions::StateMachine").values()
        if r["Properties"]["StateMachineName"] == "lecture-dhbw-maintenance-window"
    )
    body = machine["Properties"]["DefinitionString"]
    text = "".join(p if isinstance(p, str) else "REF" for p in body["Fn::Join"][1]) if isinstance(body, dict) else body
    rb = RUNBOOKS["maintenance-window"]
    assert json.loads(text)["TimeoutSeconds"] >= (30 * 24 * 60 + rb.timeout_minutes) * 60
