"""What the generated docs (tools/docs.py) list is what every customer's synthesized stack holds: its outputs,
state machines, functions, log groups and alarms, and the functions the reserved-concurrency quota counts."""

import pytest

from catalog import naming, watched_alarms
from customers import known_customers, load_customer
from tests.infra.conftest import resources
from tools import docs


def names(template: dict, rtype: str, prop: str) -> set[str]:
    return {r["Properties"][prop] for r in resources(template, rtype).values()}


@pytest.mark.parametrize("customer", known_customers())
def test_the_docs_list_what_the_stack_holds(templates, customer):
    template, config = templates[customer], load_customer(customer)
    assert set(template["Outputs"]) == {name for name, _ in docs.outputs(config)}
    assert names(template, "AWS::StepFunctions::StateMachine", "StateMachineName") == {
        naming.state_machine_name(customer, w) for w in docs.workflows()
    }
    functions = names(template, "AWS::Lambda::Function", "FunctionName")
    assert functions == {naming.function_name(customer, f) for f, _, _ in docs.functions()}
    assert names(template, "AWS::Logs::LogGroup", "LogGroupName") == set(docs.log_groups(config))
    assert names(template, "AWS::CloudWatch::Alarm", "AlarmName") == {*watched_alarms(config), *docs.automation_alarms(config)}


@pytest.mark.parametrize("customer", known_customers())
def test_the_reserved_concurrency_quota_counts_every_function(templates, customer):
    config = load_customer(customer)
    reserved = [
        f["Properties"].get("ReservedConcurrentExecutions", 0)
        for f in resources(templates[customer], "AWS::Lambda::Function").values()
    ]
    assert docs.reserved_quota(config) == docs.UNRESERVED_MINIMUM + sum(reserved)
