"""The scenario format of several customers (issue 16): customers, a world per customer, a customer per step;
single-customer files unchanged; bad input refused with the field named."""

import json
from pathlib import Path

import pytest

from sandbox import scenario as scenarios

ROOT = Path(__file__).resolve().parent.parent.parent
ALARM = {"alarm": "lecture-edt-lecture-backend-service-running-tasks-low"}


def test_the_shipped_p0_game_day_parses_with_every_customer():
    scenario = scenarios.load(ROOT / "scenarios" / "p0-two-customers-down.json")
    assert scenario.customers == ["dhbw", "edt", "unilux"] and scenario.customer == "dhbw"
    assert [s.customer for s in scenario.steps] == ["dhbw", "edt", "unilux", "edt", "dhbw"]
    assert scenario.expect and scenario.expect.p0_customers == ["dhbw", "edt"]


def test_a_single_customer_file_is_as_before():
    for path in sorted((ROOT / "scenarios").glob("*.json")):
        data = json.loads(path.read_text())
        if "customers" in data:
            continue
        scenario = scenarios.parse(data)
        assert scenario.customers is None and scenario.fleet == [data["customer"]]
        assert all(getattr(s, "customer", None) is None for s in scenario.steps)


def test_a_world_per_customer():
    scenario = scenarios.parse(
        {"customers": ["dhbw", "edt"], "worlds": {"edt": {"ecs": {"lecture-backend-service": {"desired": 3}}}}, "steps": [ALARM]}
    )
    assert scenario.world_of("edt").model_dump()["ecs"]["lecture-backend-service"]["desired"] == 3
    assert scenario.world_of("dhbw") == scenario.world


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"customers": ["dhbw", "edt"], "steps": [{**ALARM, "customer": "unilux"}]}, "steps[0] names customer 'unilux'"),
        ({"customers": ["dhbw"], "steps": [ALARM]}, "field 'customers': List should have at least 2 items"),
        ({"customers": ["dhbw", "dhbw"], "steps": [ALARM]}, "customers lists a customer twice"),
        ({"customers": ["dhbw", "edt"], "worlds": {"unilux": {}}, "steps": [ALARM]}, "worlds names unilux"),
        ({"customer": "dhbw", "worlds": {"dhbw": {}}, "steps": [ALARM]}, "one customer: use world"),
        ({"customer": "dhbw", "steps": [ALARM], "expect": {"p0_pages": {"trigger 202": 1}}}, "need several customers"),
        ({"customer": "unilux", "customers": ["dhbw", "edt"], "steps": [ALARM]}, "customer 'unilux' is not in customers"),
    ],
)
def test_a_broken_fleet_scenario_is_refused(data, problem):
    with pytest.raises(scenarios.ScenarioError) as err:
        scenarios.parse(data, "game.json")
    assert problem in str(err.value) and str(err.value).startswith("game.json: ")


def test_p0_expectations_are_checked():
    scenario = scenarios.parse(
        {
            "customers": ["dhbw", "edt"],
            "steps": [ALARM],
            "expect": {"p0_pages": {"trigger 202": 1}, "p0_customers": ["dhbw", "edt"]},
        }
    )
    report = {
        "executions": [],
        "actions": [],
        "pages": [],
        "notifications": [],
        "world": {},
        "ops": {
            "p0_pages": [{"kind": "trigger", "http_status": 202, "payload": {"custom_details": {"affected_customers": ["edt"]}}}]
        },
    }
    assert scenarios.check_expectations(scenario, report) == ["p0_customers: expected ['dhbw', 'edt'], got ['edt']"]
    report["ops"]["p0_pages"] = []
    assert scenarios.check_expectations(scenario, report) == [
        "p0_pages: expected {'trigger 202': 1}, got {}",
        "p0_customers: expected ['dhbw', 'edt'], got None",
    ]
