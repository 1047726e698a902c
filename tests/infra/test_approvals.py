"""Approvals in the template: the state machines log no execution data (a wait's task token, a plan), act and the
approval function get the execution's ARN to check with Step Functions, and only the answer function answers."""

import json

import pytest
from aws_cdk.assertions import Match, Template

from catalog import RUNBOOKS
from customers import known_customers
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_every_state_machine_logs_its_events_without_their_data(synthesized, customer):
    _, stacks = synthesized
    template = Template.from_stack(stacks[customer])
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

    for name in ("Act", "WaitForApproval", "RecordAnswer"):
        assert payload(name)["execution_arn.$"] == "$$.Execution.Id", name
    # the token goes to the approval function only; the plan's digest is taken there
    assert payload("WaitForApproval")["token.$"] == "$$.Task.Token"
    assert payload("WaitForApproval")["plan.$"] == "$.plan"
    assert not any("$$.Task.Token" in json.dumps(s) for n, s in states.items() if n != "WaitForApproval")
