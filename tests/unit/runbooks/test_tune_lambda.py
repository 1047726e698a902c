"""Runbook tune-lambda: guard (plan_tune), act (apply_tune, after check_plan), verify (check_tune), and the
kit's re-check of the mode where act changes something."""

import io
import zipfile

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks import tune_lambda as tune
from tests.unit.builders import MODE_PARAMETER, NOW, TABLE_NAME


class _Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "tune", 128, "arn:aws:lambda:x", "r"


@pytest.fixture
def lambda_(session, dhbw):
    iam = session.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as z:
        z.writestr("index.py", "def handler(e, c): return e\n")
    client = session.client("lambda")
    client.create_function(
        FunctionName=dhbw.function,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": body.getvalue()},
        MemorySize=512,
        Timeout=30,
    )
    return client


@pytest.fixture
def guard(lambda_, dhbw, ssm, table):
    from lambdas.settings import Settings

    settings = Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)

    def call(raw: dict):
        inp = parse_input(RUNBOOKS["tune-lambda"], {"function": dhbw.function, **raw})
        return tune.plan_tune(inp, settings=settings, lambda_=lambda_, ssm=ssm, store=Store(table, NOW))

    return call


def configuration(lambda_, dhbw) -> tuple[int, int]:
    found = lambda_.get_function_configuration(FunctionName=dhbw.function)
    return found["MemorySize"], found["Timeout"]


@pytest.fixture
def lambda_env(monkeypatch, dhbw, table, ssm):
    from lambdas import aws

    monkeypatch.setenv("CUSTOMER_CONFIG", dhbw.model_dump_json())
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("MODE_PARAMETER", MODE_PARAMETER)
    aws._client.cache_clear()
    aws._dynamodb.cache_clear()
    yield
    aws._client.cache_clear()
    aws._dynamodb.cache_clear()


def test_a_change_within_the_bounds_is_planned_for_approval_and_changes_nothing_yet(guard, lambda_, dhbw):
    # when
    plan = guard({"memory_mb": 1024})
    # then
    assert plan.proceed is True and plan.mode == "enforce"
    assert "memory 512 -> 1024 MB" in (plan.approval_summary or "")
    assert configuration(lambda_, dhbw) == (512, 30)


def test_a_value_outside_the_bounds_is_refused(guard, lambda_, dhbw):
    plan = guard({"memory_mb": 4096})
    assert plan.proceed is False and plan.outcome == "refused"
    assert "outside 128..2048 MB" in (plan.message or "")


def test_dry_run_is_the_plans_mode_and_asks_no_approval(guard):
    plan = guard({"memory_mb": 1024, "dry_run": True})
    assert (plan.outcome, plan.mode, plan.dry_run, plan.proceed) == ("would_tune", "dry-run", True, False)


def test_approved_change_is_applied_and_the_old_values_kept(guard, lambda_, dhbw, table):
    plan = guard({"memory_mb": 1024, "timeout_seconds": 60})
    done = tune.apply_tune(tune.check_plan(plan.to_json(), dhbw), lambda_=lambda_, store=Store(table, NOW), approved_by="alice")
    assert done.verify is True
    assert configuration(lambda_, dhbw) == (1024, 60)
    assert tune.kept_values(Store(table, NOW), dhbw.function)["memory_mb"] == 512
    assert tune.check_tune(done, lambda_=lambda_).outcome == "tuned"


def test_act_refuses_a_plan_for_another_function_or_beyond_the_bounds(guard, lambda_, dhbw):
    plan = guard({"memory_mb": 1024}).to_json()
    for forged in ({**plan, "function": "someone-elses"}, {**plan, "memory_to": 8192}):
        with pytest.raises(InvalidPlan, match="nothing was changed"):
            tune.check_plan(forged, dhbw)
    with pytest.raises(InvalidInput, match="guard did not approve"):
        tune.check_plan({**plan, "proceed": False}, dhbw)
    assert configuration(lambda_, dhbw) == (512, 30)


def test_act_after_the_mode_switch_was_turned_off_changes_nothing(lambda_env, guard, lambda_, dhbw, ssm):
    # given a plan made in enforce, approved while the switch is turned off
    plan = guard({"memory_mb": 1024}).to_json()
    ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Type="String", Overwrite=True)
    approval = {"answer": "approved", "by": "alice"}
    # when act runs
    result = tune.handler({"step": "act", "plan": plan, "approval": approval}, _Context())
    # then the kit's re-check held it back: nothing changed, the run ends as a refusal that says why
    assert (result["outcome"], result["proceed"], result["verify"]) == ("refused", False, False)
    assert f"{MODE_PARAMETER} is off now" in result["message"] and "nothing was changed" in result["message"]
    assert result["approval"] == approval
    assert configuration(lambda_, dhbw) == (512, 30)
