"""Runbook scale-ecs-service: guard (plan_scale), act (apply_scale), verify (check_scale), and its input."""

from datetime import timedelta

import pytest
from moto.ecs.models import ecs_backends

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, ResourceNotFound
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks.scale_ecs_service import apply_scale, check_scale, plan_scale
from lambdas.settings import Settings
from tests.unit.builders import (
    ACCOUNT,
    CLUSTER,
    MODE_PARAMETER,
    NOW,
    REGION,
    SERVICE,
    TABLE_NAME,
    create_service,
    desired_count,
    item,
)

RUNBOOK = RUNBOOKS["scale-ecs-service"]
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"
COOLDOWN_KEY = (f"cooldown#scale-ecs-service#{SERVICE}", "cooldown")


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def plan(settings, ecs, aas, ssm, table):
    """The guard step as the Lambda runs it: parse the raw input, then plan against moto."""

    def call(raw: dict, *, now=NOW, execution: str = "exec-1"):
        inp = parse_input(RUNBOOK, raw)
        return plan_scale(
            inp, settings=settings, ecs=ecs, aas=aas, ssm=ssm, store=Store(table, now), now=now, execution=execution
        )

    return call


def register_target(aas, min_capacity: int = 2, max_capacity: int = 6) -> None:
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE_ID,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )


def target_capacity(aas) -> tuple[int, int]:
    [target] = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID])["ScalableTargets"]
    return target["MinCapacity"], target["MaxCapacity"]


def moto_service():
    return ecs_backends[ACCOUNT][REGION].services[f"{CLUSTER}:{SERVICE}"]


# --- guard + act: scaling within bounds --------------------------------------------------------------


def test_delta_one_from_two_scales_the_service_to_three(plan, ecs, aas, table):
    # given
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "delta": 1})
    applied = apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.proceed is True
    assert (planned.from_, planned.to) == (2, 3)
    assert planned.scalable_target is None
    assert applied.verify is True
    assert applied.to_json()["previous"] == {"desired": 2, "scalable_target": None}
    assert desired_count(ecs) == 3
    cooldown = item(table, *COOLDOWN_KEY)
    assert cooldown["holder"] == "exec-1"
    assert cooldown["until"] == (NOW + timedelta(seconds=300)).isoformat()


def test_desired_four_from_two_scales_to_four(plan, ecs, aas):
    # given
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "desired": 4})
    apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert (planned.proceed, planned.from_, planned.to) == (True, 2, 4)
    assert desired_count(ecs) == 4


def test_delta_minus_one_scales_down_within_bounds(plan, ecs, aas):
    # given
    create_service(ecs, desired=4)
    # when
    planned = plan({"service": SERVICE, "delta": -1})
    apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert (planned.from_, planned.to) == (4, 3)
    assert desired_count(ecs) == 3


def test_delta_five_from_two_is_limited_to_the_maximum_with_a_note(plan, ecs, aas):
    # given
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "delta": 5})
    apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.proceed is True
    assert planned.to == 6
    assert "limited to 6 by the bounds 2..6" in planned.notes
    assert desired_count(ecs) == 6


# --- guard: refusals ---------------------------------------------------------------------------------


def test_at_maximum_scaling_up_is_refused_and_nothing_changes(plan, ecs, table):
    # given
    create_service(ecs, desired=6)
    # when
    planned = plan({"service": SERVICE, "delta": 1})
    # then
    assert planned.proceed is False
    assert planned.outcome == "refused"
    assert "already at its maximum of 6 tasks" in planned.message
    assert desired_count(ecs) == 6
    assert item(table, *COOLDOWN_KEY) is None  # a refusal does not use up the cooldown


def test_at_minimum_scaling_down_is_refused(plan, ecs):
    # given
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "delta": -1})
    # then
    assert (planned.proceed, planned.outcome) == (False, "refused")
    assert "already at its minimum of 2 tasks" in planned.message
    assert desired_count(ecs) == 2


def test_desired_above_maximum_is_refused_naming_the_maximum(plan, ecs):
    # given
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "desired": 10})
    # then
    assert (planned.proceed, planned.outcome) == (False, "refused")
    assert planned.message == f"desired 10 is above the maximum of 6 tasks for service {SERVICE}"
    assert desired_count(ecs) == 2


def test_desired_below_minimum_is_refused_naming_the_minimum(plan, ecs):
    # given
    create_service(ecs, desired=3)
    # when
    planned = plan({"service": SERVICE, "desired": 0})
    # then
    assert (planned.proceed, planned.outcome) == (False, "refused")
    assert planned.message == f"desired 0 is below the minimum of 2 tasks for service {SERVICE}"
    assert desired_count(ecs) == 3


def test_desired_equal_to_current_is_a_noop(plan, ecs, table):
    # given
    create_service(ecs, desired=3)
    # when
    planned = plan({"service": SERVICE, "desired": 3})
    # then
    assert (planned.proceed, planned.outcome) == (False, "noop")
    assert "already has 3 desired tasks" in planned.message
    assert item(table, *COOLDOWN_KEY) is None


def test_second_plan_within_the_cooldown_is_refused(plan, ecs, aas):
    # given a first scaling a minute ago
    create_service(ecs, desired=2)
    first = plan({"service": SERVICE, "delta": 1}, execution="exec-1")
    apply_scale(first, ecs=ecs, aas=aas)
    # when
    second = plan({"service": SERVICE, "delta": 1}, now=NOW + timedelta(seconds=60), execution="exec-2")
    # then
    until = (NOW + timedelta(seconds=300)).isoformat()
    assert (second.proceed, second.outcome) == (False, "refused")
    assert f"in cooldown until {until}" in second.message
    assert "(one action per 300 s)" in second.message
    assert desired_count(ecs) == 3


def test_plan_after_the_cooldown_proceeds_and_starts_a_new_one(plan, ecs, aas, table):
    # given
    create_service(ecs, desired=2)
    apply_scale(plan({"service": SERVICE, "delta": 1}, execution="exec-1"), ecs=ecs, aas=aas)
    later = NOW + timedelta(seconds=301)
    # when
    second = plan({"service": SERVICE, "delta": 1}, now=later, execution="exec-2")
    # then
    assert second.proceed is True and (second.from_, second.to) == (3, 4)
    cooldown = item(table, *COOLDOWN_KEY)
    assert cooldown["holder"] == "exec-2"
    assert cooldown["until"] == (later + timedelta(seconds=300)).isoformat()


@pytest.mark.parametrize(
    "raw, via_ssm",
    [
        pytest.param({"service": SERVICE, "delta": 1, "dry_run": True}, None, id="dry_run-input"),
        pytest.param({"service": SERVICE, "delta": 1, "mode": "dry-run"}, None, id="mode-input"),
        pytest.param({"service": SERVICE, "delta": 1}, "dry-run", id="mode-switch"),
    ],
)
def test_dry_run_reports_what_it_would_do_and_changes_nothing(plan, ecs, aas, ssm, table, raw, via_ssm):
    # given
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    if via_ssm:
        ssm.put_parameter(Name=MODE_PARAMETER, Value=via_ssm, Type="String", Overwrite=True)
    # when
    planned = plan(raw)
    applied = apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.proceed is True and planned.dry_run is True
    assert applied.outcome == "would_scale"
    assert applied.verify is False
    assert applied.message.startswith(f"dry-run: would scale {SERVICE} from 2 to 3 tasks")
    assert "UpdateService" in applied.message and "RegisterScalableTarget" in applied.message
    assert desired_count(ecs) == 2
    assert target_capacity(aas) == (2, 6)
    assert item(table, *COOLDOWN_KEY) is None


def test_dry_run_still_respects_a_running_cooldown(plan, ecs, aas):
    # given
    create_service(ecs, desired=2)
    apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas)
    # when
    planned = plan({"service": SERVICE, "delta": 1, "dry_run": True}, now=NOW + timedelta(seconds=10))
    # then
    assert (planned.proceed, planned.outcome) == (False, "refused")
    assert "in cooldown until" in planned.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"service": SERVICE, "delta": 1}, id="no-mode-in-input"),
        pytest.param({"service": SERVICE, "delta": 1, "mode": "enforce"}, id="respond-read-enforce-before"),
    ],
)
def test_mode_switch_off_refuses_saying_automation_is_off(plan, ecs, ssm, table, raw):
    # given the operator turned automation off (after respond read the switch, in the second case)
    create_service(ecs, desired=2)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Type="String", Overwrite=True)
    # when
    planned = plan(raw)
    # then
    assert (planned.proceed, planned.outcome, planned.mode) == (False, "refused", "off")
    assert planned.message == (f"automation is off for customer dhbw ({MODE_PARAMETER} = off); {SERVICE} was not changed")
    assert desired_count(ecs) == 2
    assert item(table, *COOLDOWN_KEY) is None


def test_mode_off_in_the_input_refuses_even_with_the_switch_on_enforce(plan, ecs, table):
    # given the switch says enforce
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "delta": 1, "mode": "off"})
    # then
    assert (planned.proceed, planned.outcome, planned.mode) == (False, "refused", "off")
    assert planned.message.startswith("automation is off for customer dhbw")
    assert desired_count(ecs) == 2
    assert item(table, *COOLDOWN_KEY) is None


def test_refusal_for_an_input_mode_off_does_not_claim_the_switch_is_off(plan, ecs):
    # given the switch says enforce
    create_service(ecs, desired=2)
    # when
    planned = plan({"service": SERVICE, "delta": 1, "mode": "off"})
    # then the message does not send the operator to a switch that is not off
    assert f"{MODE_PARAMETER} = off" not in planned.message


def test_switch_set_to_dry_run_after_respond_read_enforce_makes_the_run_a_dry_run(plan, ecs, aas, ssm, table):
    # given respond read enforce, then the operator set dry-run
    create_service(ecs, desired=2)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="dry-run", Type="String", Overwrite=True)
    # when
    planned = plan({"service": SERVICE, "delta": 1, "mode": "enforce"})
    applied = apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.mode == "dry-run" and planned.dry_run is True
    assert applied.outcome == "would_scale"
    assert desired_count(ecs) == 2
    assert item(table, *COOLDOWN_KEY) is None


def test_input_mode_cannot_loosen_the_switch(plan, ecs, aas, ssm):
    # given the switch says dry-run, and a hand-started run asks for enforce
    create_service(ecs, desired=2)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="dry-run", Type="String", Overwrite=True)
    # when
    planned = plan({"service": SERVICE, "delta": 1, "mode": "enforce"})
    apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.mode == "dry-run"
    assert desired_count(ecs) == 2


def test_unknown_mode_value_plans_a_dry_run_with_a_note(plan, ecs, ssm, table):
    # given
    create_service(ecs, desired=2)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="yes", Type="String", Overwrite=True)
    # when
    planned = plan({"service": SERVICE, "delta": 1})
    # then
    assert planned.mode == "dry-run" and planned.dry_run is True
    assert any("'yes'" in note and "treated as dry-run" in note for note in planned.notes)
    assert item(table, *COOLDOWN_KEY) is None


def test_unknown_service_is_invalid_input_naming_the_configured_services(plan, ecs):
    # given
    create_service(ecs, desired=2)
    # when
    with pytest.raises(InvalidInput) as caught:
        plan({"service": "lecture-frontend-service", "delta": 1})
    # then
    message = str(caught.value)
    assert "'lecture-frontend-service' is not configured for customer dhbw" in message
    assert f"(configured: {SERVICE})" in message


def test_configured_service_missing_from_the_cluster_is_resource_not_found(plan, ecs, table):
    # given the cluster exists but the service was never created
    ecs.create_cluster(clusterName=CLUSTER)
    # when
    with pytest.raises(ResourceNotFound) as caught:
        plan({"service": SERVICE, "delta": 1})
    # then
    assert str(caught.value) == f"service {SERVICE} not found in cluster {CLUSTER}"
    assert item(table, *COOLDOWN_KEY) is None


# --- Application Auto Scaling --------------------------------------------------------------------------


def test_with_a_scalable_target_its_floor_is_raised_and_the_service_updated(plan, ecs, aas):
    # given
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    # when
    planned = plan({"service": SERVICE, "delta": 1})
    applied = apply_scale(planned, ecs=ecs, aas=aas)
    # then
    assert planned.to_json()["scalable_target"] == {"min": 2, "max": 6}
    assert target_capacity(aas) == (3, 6)
    assert desired_count(ecs) == 3
    assert applied.to_json()["previous"] == {"desired": 2, "scalable_target": {"min": 2, "max": 6}}


def test_scaling_up_beyond_the_targets_maximum_raises_the_maximum_too(plan, ecs, aas):
    # given an autoscaler capped below the customer's bound
    create_service(ecs, desired=4)
    register_target(aas, 2, 4)
    # when
    apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas)
    # then
    assert target_capacity(aas) == (5, 5)
    assert desired_count(ecs) == 5


def test_scaling_down_below_a_raised_floor_lowers_the_floor(plan, ecs, aas):
    # given an earlier scale-up raised the autoscaler's floor to 3
    create_service(ecs, desired=3)
    register_target(aas, 3, 6)
    # when
    apply_scale(plan({"service": SERVICE, "delta": -1}), ecs=ecs, aas=aas)
    # then the autoscaler will not scale it straight back up to its floor
    assert target_capacity(aas) == (2, 6)
    assert desired_count(ecs) == 2


def test_scaling_down_never_raises_the_autoscalers_floor(plan, ecs, aas):
    # given the autoscaler's floor is the customer's minimum, and the service runs above it
    create_service(ecs, desired=4)
    register_target(aas, 2, 6)
    # when
    apply_scale(plan({"service": SERVICE, "delta": -1}), ecs=ecs, aas=aas)
    # then the service is scaled down, and the floor stays where it was
    assert desired_count(ecs) == 3
    assert target_capacity(aas) == (2, 6)


# --- parse_input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        pytest.param({"service": SERVICE}, ["give exactly one of 'delta' or 'desired'"], id="neither"),
        pytest.param({"service": SERVICE, "delta": 1, "desired": 3}, ["give exactly one of 'delta' or 'desired'"], id="both"),
        pytest.param({"service": SERVICE, "delta": 0}, ["'delta' must not be 0"], id="delta-zero"),
        pytest.param(
            {"service": SERVICE, "delta": 1, "force": True},
            ["field 'force'", "Extra inputs are not permitted"],
            id="unknown-field",
        ),
        pytest.param({"delta": 1}, ["field 'service'", "Field required"], id="no-service"),
        pytest.param(
            {"service": SERVICE, "desired": -1}, ["field 'desired'", "greater than or equal to 0"], id="negative-desired"
        ),
        pytest.param({"service": SERVICE, "delta": "one"}, ["field 'delta'"], id="delta-not-a-number"),
        pytest.param({"service": SERVICE, "delta": 1, "mode": "sometimes"}, ["field 'mode'"], id="unknown-mode"),
    ],
)
def test_invalid_input_is_rejected_with_clear_text(raw, expected):
    # when
    with pytest.raises(InvalidInput) as caught:
        parse_input(RUNBOOK, raw)
    # then
    message = str(caught.value)
    assert message.startswith("invalid scale-ecs-service input (example: ")
    for text in expected:
        assert text in message


@pytest.mark.parametrize("raw", [["lecture-backend-service", 1], "scale up", None, 3])
def test_input_that_is_not_an_object_is_rejected_with_an_example(raw):
    # when
    with pytest.raises(InvalidInput) as caught:
        parse_input(RUNBOOK, raw)
    # then
    assert str(caught.value) == (
        "scale-ecs-service input must be a JSON object like {'service': 'lecture-backend-service', 'delta': 1}"
    )


def test_the_key_step_functions_adds_to_a_child_execution_is_ignored():
    # given the input as a child execution started by respond receives it
    respond = "arn:aws:states:eu-central-1:111111111111:execution:lecture-dhbw-respond:abc"
    raw = {"service": SERVICE, "delta": 1, "mode": "enforce", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": respond}
    # when
    parsed = parse_input(RUNBOOK, raw)
    # then
    assert parsed.model_dump() == parse_input(RUNBOOK, {"service": SERVICE, "delta": 1, "mode": "enforce"}).model_dump()
    assert (parsed.service, parsed.delta, parsed.desired, parsed.mode) == (SERVICE, 1, None, "enforce")


# --- verify --------------------------------------------------------------------------------------------


def test_check_reports_scaled_once_running_equals_desired(plan, ecs, aas):
    # given moto starts the new tasks at once
    create_service(ecs, desired=2)
    applied = apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas)
    # when
    checked = check_scale(applied, ecs=ecs)
    # then
    assert checked.settled is True
    assert checked.outcome == "scaled"
    assert checked.polls == 1 and checked.running == 3
    assert checked.message == f"scaled {SERVICE} from 2 to 3 tasks; 3 of 3 running"


def test_check_times_out_when_tasks_do_not_start_and_says_where_it_stands(plan, ecs, aas):
    # given the third task never starts
    create_service(ecs, desired=2)
    applied = apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas)
    moto_service().running_count = 2
    # when verify polls as the state machine does, until settled
    state, results = applied, []
    while True:
        state = check_scale(state, ecs=ecs)
        results.append(state)
        if state.settled:
            break
        assert len(results) < 100, "check_scale never settled"
    # then
    assert len(results) == RUNBOOK.verify_max_polls
    assert all(r.settled is False and "outcome" not in r.to_json() for r in results[:-1])
    final = results[-1]
    assert final.outcome == "timed_out"
    assert final.polls == RUNBOOK.verify_max_polls
    assert f"did not settle after {RUNBOOK.verify_max_polls} checks" in final.message
    assert "2 of 3 running" in final.message
    assert "deployment IN_PROGRESS" in final.message
    assert desired_count(ecs) == 3


# --- act re-checks its plan (issue 5, 2.3); the floor goes back after the incident (3.5) -------------------
class _Context:
    function_name, memory_limit_in_mb, aws_request_id = "lecture-dhbw-remediation-scale-ecs-service", 256, "req-1"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"


@pytest.fixture
def lambda_env(monkeypatch, dhbw, table, ssm):
    """The function's environment as the stack sets it; boto3 clients made fresh inside this test's mock."""
    from lambdas import aws

    monkeypatch.setenv("CUSTOMER_CONFIG", dhbw.model_dump_json())
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("MODE_PARAMETER", MODE_PARAMETER)
    aws._client.cache_clear()
    aws._dynamodb.cache_clear()
    yield
    aws._client.cache_clear()
    aws._dynamodb.cache_clear()


def _invoke(event):
    from lambdas.runbooks.scale_ecs_service import handler

    return handler(event, _Context())


@pytest.fixture
def writes(monkeypatch):
    """Every UpdateService / RegisterScalableTarget any boto3 client sends in this test."""
    import botocore.client

    seen = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self, operation, params):
        seen.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    return seen


@pytest.mark.parametrize(
    "forge, names",
    [
        pytest.param(
            {"cluster": "someone-elses-cluster"}, "cluster 'someone-elses-cluster' is not the configured", id="other-cluster"
        ),
        pytest.param({"service": "payments"}, "service 'payments' is not configured", id="unconfigured-service"),
        pytest.param({"to": 60}, "60 tasks is outside the bounds 2..6", id="above-max"),
        pytest.param({"to": 0, "from": 2}, "0 tasks is outside the bounds 2..6", id="below-min"),
        pytest.param({"scalable_target": {"min": 2, "max": 100}}, "MaxCapacity 100 is outside the bounds", id="ceiling"),
        pytest.param(
            {"to": 3, "from": 4, "scalable_target": {"min": 1, "max": 6}},
            "MinCapacity 1 / MaxCapacity 6 is outside",
            id="floor-below-min",
        ),
        pytest.param({"proceed": False}, "guard did not let it proceed", id="not-proceeding"),
        pytest.param({"to": "3; drop"}, "'to' must be a whole number", id="not-a-number"),
        # the plan's model is the last guard: whatever the checks above do not read must still be a plan
        pytest.param({"mode": "yolo"}, "field 'mode'", id="unknown-mode"),
        pytest.param({"dry_run": "perhaps"}, "field 'dry_run'", id="dry-run-not-a-bool"),
        pytest.param({"polls": "many"}, "field 'polls'", id="polls-not-a-number"),
    ],
)
def test_act_with_a_forged_plan_changes_nothing_and_says_why(lambda_env, plan, ecs, aas, writes, forge, names):
    from lambdas.errors import InvalidPlan

    # given a real plan, then forged as a direct invoke could
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    forged = {**plan({"service": SERVICE, "delta": 1}).to_json(), **forge}
    writes.clear()
    # when
    with pytest.raises(InvalidPlan) as caught:
        _invoke({"step": "act", "plan": forged})
    # then
    assert names in str(caught.value) and "nothing was changed" in str(caught.value)
    assert [w for w in writes if w in ("UpdateService", "RegisterScalableTarget")] == []
    assert desired_count(ecs) == 2 and target_capacity(aas) == (2, 6)


@pytest.mark.parametrize("plan_given", [None, "scale up", {"service": SERVICE}], ids=["none", "text", "partial"])
def test_verify_with_a_malformed_plan_is_invalid_input_naming_it(lambda_env, plan_given):
    # when verify is invoked with something that is not act's plan
    with pytest.raises(InvalidInput) as caught:
        _invoke({"step": "verify", "plan": plan_given})
    # then it says so instead of failing with a KeyError
    assert str(caught.value).startswith("verify: the plan act returned")


def test_each_step_returns_the_json_the_runbook_state_machine_reads(lambda_env, plan, ecs, aas):
    # given guard's plan as the state machine passes it on
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    guarded = _invoke({"step": "guard", "input": {"service": SERVICE, "delta": 1}, "execution": "exec-1"})
    # when act and verify run on it
    acted = _invoke({"step": "act", "plan": guarded})
    verified = _invoke({"step": "verify", "plan": acted})
    # then each step returns exactly the keys it did as a dict ($.plan.proceed, $.plan.verify, ...)
    assert guarded == {
        "runbook": "scale-ecs-service",
        "customer": "dhbw",
        "cluster": CLUSTER,
        "service": SERVICE,
        "min": 2,
        "max": 6,
        "mode": "enforce",
        "dry_run": False,
        "incident_id": None,
        "reason": None,
        "notes": [],
        "polls": 0,
        "max_polls": RUNBOOK.verify_max_polls,
        "wait_seconds": RUNBOOK.verify_interval_seconds,
        "from": 2,
        "to": 3,
        "scalable_target": {"min": 2, "max": 6},
        "proceed": True,
    }
    assert acted == {
        **guarded,
        "verify": True,
        "scalable_target": {"min": 3, "max": 6},
        "previous": {"desired": 2, "scalable_target": {"min": 2, "max": 6}},
    }
    assert verified == {
        **acted,
        "polls": 1,
        "running": 3,
        "settled": True,
        "outcome": "scaled",
        "message": f"scaled {SERVICE} from 2 to 3 tasks; 3 of 3 running",
    }


def test_act_with_the_plan_guard_made_scales(lambda_env, plan, ecs, aas, writes):
    create_service(ecs, desired=2)
    out = _invoke({"step": "act", "plan": plan({"service": SERVICE, "delta": 1}).to_json()})
    assert out["verify"] is True and desired_count(ecs) == 3
    assert [w for w in writes if w == "UpdateService"] == ["UpdateService"]


def test_the_floor_before_the_first_raise_is_remembered_and_the_current_one_reported(plan, ecs, aas, table):
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    first = apply_scale(plan({"service": SERVICE, "delta": 1, "incident_id": "inc-1"}), ecs=ecs, aas=aas, store=Store(table, NOW))
    assert first.to_json()["scalable_target"] == {"min": 3, "max": 6}  # the floor now in force
    assert first.to_json()["previous"]["scalable_target"] == {"min": 2, "max": 6}
    # a second raise (after the cooldown) keeps the first floor
    later = NOW + timedelta(seconds=301)
    apply_scale(plan({"service": SERVICE, "delta": 1}, now=later), ecs=ecs, aas=aas, store=Store(table, later))
    assert target_capacity(aas) == (4, 6)
    saved = item(table, f"floor#scale-ecs-service#{SERVICE}", "floor")
    assert saved["floor"] == 2 and saved["incident_id"] == "inc-1"


def _restore(settings, aas, ssm, table, inp, now=NOW, phase="apply"):
    from lambdas.runbooks.scale_ecs_service import plan_restore, restore_floor

    if phase == "plan":
        return plan_restore(inp, settings=settings, aas=aas, store=Store(table, now), now=now)
    return restore_floor(inp, settings=settings, aas=aas, ssm=ssm, store=Store(table, now))


def test_restore_puts_the_floor_back_after_the_cooldown(settings, plan, ecs, aas, ssm, table):
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas, store=Store(table, NOW))
    inp = {"service": SERVICE, "alarm": "lecture-dhbw-lecture-backend-service-cpu-high"}
    # the plan says when (the cooldown's end) and to what
    planned = _restore(settings, aas, ssm, table, inp, phase="plan")
    assert planned.due is True and planned.floor == 2 and planned.current == 3
    assert planned.at == (NOW + timedelta(seconds=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "goes back to 2" in planned.message
    # then the restore
    done = _restore(settings, aas, ssm, table, inp, now=NOW + timedelta(seconds=300))
    assert done.restored is True and target_capacity(aas) == (2, 6)
    assert desired_count(ecs) == 3  # the autoscaler scales in by its own policy
    assert item(table, f"floor#scale-ecs-service#{SERVICE}", "floor") is None
    # nothing left to put back
    assert _restore(settings, aas, ssm, table, inp, phase="plan").due is False


def test_restore_keeps_the_floor_while_the_alarm_is_in_alarm_again(settings, plan, ecs, aas, ssm, table):
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas, store=Store(table, NOW))
    alarm = "lecture-dhbw-lecture-backend-service-cpu-high"
    table.put_item(
        Item={"pk": f"open#{alarm}", "sk": "open", "incident_id": "inc-2", "opened_at": "2026-11-26T09:20:00+00:00"}
    )  # admit opened a new incident
    done = _restore(settings, aas, ssm, table, {"service": SERVICE, "alarm": alarm})
    assert done.restored is False and "in ALARM again" in done.message
    assert target_capacity(aas) == (3, 6)
    assert item(table, f"floor#scale-ecs-service#{SERVICE}", "floor")["floor"] == 2


def test_restore_in_dry_run_changes_nothing(settings, plan, ecs, aas, ssm, table):
    create_service(ecs, desired=2)
    register_target(aas, 2, 6)
    apply_scale(plan({"service": SERVICE, "delta": 1}), ecs=ecs, aas=aas, store=Store(table, NOW))
    ssm.put_parameter(Name=MODE_PARAMETER, Value="dry-run", Type="String", Overwrite=True)
    done = _restore(settings, aas, ssm, table, {"service": SERVICE})
    assert done.restored is False and "would put the autoscaling floor" in done.message
    assert target_capacity(aas) == (3, 6)


def test_restore_of_an_unconfigured_service_is_invalid_input(settings, aas, ssm, table):
    with pytest.raises(InvalidInput, match="service 'payments' is not configured"):
        _restore(settings, aas, ssm, table, {"service": "payments"})


def test_huge_incident_id_is_rejected_before_any_write(plan, ecs, table):
    create_service(ecs, desired=2)
    with pytest.raises(InvalidInput) as caught:
        plan({"service": SERVICE, "delta": 1, "incident_id": "x" * 135_000})
    assert "field 'incident_id'" in str(caught.value) and len(str(caught.value)) < 1000
    assert item(table, *COOLDOWN_KEY) is None and desired_count(ecs) == 2
