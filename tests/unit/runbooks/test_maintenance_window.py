"""maintenance-window's steps on moto, and admit's suppression of a service's alarms while its window is open."""

from datetime import timedelta

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.admit import admit
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks.maintenance_window import (
    backup_failed,
    check_plan,
    check_running,
    lift,
    plan_window,
    restore,
    scale_down,
)
from lambdas.settings import Settings
from tests.unit.builders import (
    CLUSTER,
    CPU_ALARM,
    MODE_PARAMETER,
    NOW,
    SERVICE,
    TABLE_NAME,
    AsDelivered,
    alarm_event,
    create_service,
    desired_count,
    item,
)

RUNBOOK = RUNBOOKS["maintenance-window"]
RESOURCE_ID = f"service/{CLUSTER}/{SERVICE}"


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def guard(settings, ecs, aas, ssm, table):
    def call(raw: dict, *, now=NOW, execution="exec-1"):
        return plan_window(
            parse_input(RUNBOOK, raw),
            settings=settings,
            ecs=ecs,
            aas=aas,
            ssm=ssm,
            store=Store(table, now),
            execution=execution,
            now=now,
        )

    return call


def floor_of(aas) -> int:
    [target] = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID])["ScalableTargets"]
    return int(target["MinCapacity"])


def with_floor(ecs, aas, desired=3, floor=3):
    create_service(ecs, desired=desired)
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE_ID,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=floor,
        MaxCapacity=6,
    )


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"services": ["lecture-backend-service"]}, "exactly one of 'minutes' or 'until'"),
        ({"services": ["lecture-backend-service"], "minutes": 30, "until": "done"}, "exactly one"),
        ({"services": ["lecture-backend-service"], "minutes": 0}, "minutes"),
        ({"services": ["lecture-backend-service"], "minutes": 481}, "minutes"),
        ({"services": [], "minutes": 30}, "services"),
        ({"services": ["lecture-backend-service"], "until": "later"}, "until"),
    ],
)
def test_bad_input_is_refused_naming_the_field(raw, problem):
    with pytest.raises(InvalidInput, match=problem):
        parse_input(RUNBOOK, raw)


def test_a_window_that_proceeds_asks_for_approval_saying_what_stops(guard, ecs, aas):
    with_floor(ecs, aas, desired=3, floor=3)
    plan = guard({"services": [SERVICE], "minutes": 30, "reason": "db upgrade"})
    assert plan.proceed is True and plan.approval_summary
    assert f"stop {SERVICE} for 30 min (production is down meanwhile)" in plan.approval_summary
    assert "as soon as it is approved" in plan.approval_summary and "Reason: db upgrade" in plan.approval_summary
    assert "starts_at" not in plan.to_json() and "remind_at" not in plan.to_json()  # not booked: runs at once


def at(delta: timedelta) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_booked_window_opens_at_its_time_and_is_reminded_an_hour_before(guard, ecs, aas):
    with_floor(ecs, aas)
    plan = guard({"services": [SERVICE], "minutes": 30, "at": at(timedelta(hours=50))})
    assert plan.proceed is True
    assert (plan.starts_at, plan.remind_at) == (at(timedelta(hours=50)), at(timedelta(hours=49)))
    assert f"at {plan.starts_at} (booked" in plan.approval_summary and f"booked for {plan.starts_at}" in plan.message


@pytest.mark.parametrize(
    "ahead, problem",
    [
        (timedelta(hours=47, minutes=59), "is 47 h 59 min from now; customers are told at least 48 hours ahead"),
        (timedelta(hours=-1), "is 1 h 0 min in the past"),
        (timedelta(days=30, minutes=1), "is more than 30 days ahead (maintenance.max_ahead_days"),
    ],
)
def test_a_booking_with_too_little_notice_or_too_far_ahead_is_refused_before_anything_is_read(
    guard, table, ecs, aas, ssm, ahead, problem
):
    # given a service and the mode switch, neither of which may be read for a refused booking
    with_floor(ecs, aas)
    calls: list[str] = []
    for client in (ecs, aas, ssm):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    with pytest.raises(InvalidInput, match=problem.replace("(", r"\(").replace(".", r"\.")):
        guard({"services": [SERVICE], "minutes": 30, "at": at(ahead)})
    assert calls == [] and table.scan()["Items"] == []


def test_a_booking_needs_a_time_with_its_zone(guard):
    with pytest.raises(InvalidInput, match="at"):
        parse_input(RUNBOOK, {"services": [SERVICE], "minutes": 30, "at": "2027-01-15T06:00:00"})


def test_the_customer_file_sets_the_notice_and_the_reminder(settings, ecs, aas, ssm, table):
    with_floor(ecs, aas)
    config = settings.customer.model_copy(
        update={"maintenance": settings.customer.maintenance.model_copy(update={"min_notice_hours": 2, "reminder_minutes": 15})}
    )
    plan = plan_window(
        parse_input(RUNBOOK, {"services": [SERVICE], "minutes": 30, "at": at(timedelta(hours=3))}),
        settings=Settings(customer=config, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER),
        ecs=ecs,
        aas=aas,
        ssm=ssm,
        store=Store(table, NOW),
        execution="exec-1",
        now=NOW,
    )
    assert plan.remind_at == at(timedelta(hours=2, minutes=45))


def test_an_unconfigured_service_is_refused_by_name_and_nothing_is_read(guard, table):
    with pytest.raises(InvalidInput, match="'nope' is not configured"):
        guard({"services": ["nope"], "minutes": 30})
    assert table.scan()["Items"] == []


def test_until_done_waits_at_most_the_configured_maximum(guard, ecs, aas):
    with_floor(ecs, aas)
    plan = guard({"services": [SERVICE], "until": "done"})
    assert plan.proceed is True and plan.until_done and plan.minutes == 240 and plan.wait_seconds == 240 * 60


def test_dry_run_changes_nothing_and_says_what_it_would_restore(guard, ecs, aas, table):
    with_floor(ecs, aas, desired=3, floor=3)
    plan = guard({"services": [SERVICE], "minutes": 30, "dry_run": True})
    assert plan.proceed is False and plan.outcome == "would_run"
    assert f"{SERVICE}: 3 tasks, autoscaling floor 3" in plan.message
    assert desired_count(ecs) == 3 and table.scan()["Items"] == []


def test_a_dry_run_plan_sent_to_scale_down_as_if_it_may_proceed_is_refused(guard, settings, ecs, aas, table):
    # given the plan of a dry run (guard let it not proceed), forged to proceed
    with_floor(ecs, aas, desired=3, floor=3)
    forged = {**guard({"services": [SERVICE], "minutes": 30, "dry_run": True}).to_json(), "proceed": True}
    # then the kit's check of the plan refuses it: a dry run changes nothing
    with pytest.raises(InvalidPlan, match="changes nothing"):
        check_plan(forged, settings.customer)
    with pytest.raises(InvalidPlan, match="changes nothing"):
        check_plan({**forged, "dry_run": False, "mode": "dry-run"}, settings.customer)
    assert desired_count(ecs) == 3


def test_scale_down_records_counts_then_restore_puts_back_exactly_those(guard, settings, ecs, aas, table):
    # given a service at 3 tasks with an autoscaling floor of 3
    with_floor(ecs, aas, desired=3, floor=3)
    plan = check_plan(guard({"services": [SERVICE], "minutes": 30}).to_json(), settings.customer)
    # when the window opens
    down = scale_down(plan, ecs=ecs, aas=aas, store=Store(table, NOW))
    # then the counts are recorded in the window row, and the service and its floor are at 0
    row = item(table, f"window#{SERVICE}", "open")
    assert (row["desired"], row["floor"], row["execution"]) == (3, 3, "exec-1")
    assert row["expires"] == (NOW + timedelta(minutes=60)).isoformat()  # 30 min + the margin
    assert desired_count(ecs) == 0 and floor_of(aas) == 0
    # when it ends, from a plan whose recorded counts were tampered with
    forged = down.model_copy(deep=True)
    forged.recorded[SERVICE].desired = 2
    restored = restore(forged, ecs=ecs, aas=aas, store=Store(table, NOW))
    # then the table's record wins: 3 tasks, floor 3
    assert desired_count(ecs) == 3 and floor_of(aas) == 3
    assert check_running(restored, ecs=ecs).outcome == "completed"
    # and lifting deletes the row
    assert lift(
        {"services": [SERVICE]},
        "exec-1",
        config=settings.customer,
        ecs=ecs,
        aas=aas,
        store=Store(table, NOW),
        restore_first=False,
    )["lifted"] == [SERVICE]
    assert item(table, f"window#{SERVICE}", "open") is None


def test_a_failure_after_the_scale_down_restores_then_lifts(guard, settings, ecs, aas, table):
    with_floor(ecs, aas, desired=4, floor=3)
    plan = check_plan(guard({"services": [SERVICE], "minutes": 30}).to_json(), settings.customer)
    scale_down(plan, ecs=ecs, aas=aas, store=Store(table, NOW))
    result = lift(
        {"services": [SERVICE]}, "exec-1", config=settings.customer, ecs=ecs, aas=aas, store=Store(table, NOW), restore_first=True
    )
    assert result == {"lifted": [SERVICE], "restored": [SERVICE], "errors": []}
    assert desired_count(ecs) == 4 and floor_of(aas) == 3
    assert item(table, f"window#{SERVICE}", "open") is None


def test_lift_never_deletes_another_executions_window(guard, settings, ecs, aas, table):
    with_floor(ecs, aas)
    plan = check_plan(guard({"services": [SERVICE], "minutes": 30}).to_json(), settings.customer)
    scale_down(plan, ecs=ecs, aas=aas, store=Store(table, NOW))
    assert (
        lift(
            {"services": [SERVICE]},
            "exec-2",
            config=settings.customer,
            ecs=ecs,
            aas=aas,
            store=Store(table, NOW),
            restore_first=True,
        )["lifted"]
        == []
    )
    assert item(table, f"window#{SERVICE}", "open")["execution"] == "exec-1"
    # and a second window on the same service is refused while the first is open
    second = guard({"services": [SERVICE], "minutes": 10}, execution="exec-2")
    assert second.proceed is False and second.outcome == "refused" and "exec-1" in second.message


def test_a_failed_backup_names_the_childs_outcome(guard, ecs, aas):
    with_floor(ecs, aas)
    plan = guard({"services": [SERVICE], "minutes": 30})
    failed = backup_failed(
        plan, {"backup-terraform-state": {"Output": {"outcome": "state_missing", "message": "no state object"}}}
    )
    assert failed.outcome == "backup_failed" and "state_missing (no state object)" in failed.message


# --- admit: suppression while a window is open -------------------------------------------------------


def open_window(table, *, expires):
    table.put_item(
        Item={
            "pk": f"window#{SERVICE}",
            "sk": "open",
            "execution": "mw-1",
            "opened": NOW.isoformat(),
            "expires": expires.isoformat(),
            "expires_epoch": int(expires.timestamp()),
        }
    )


def test_an_alarm_during_an_open_window_pages_p3_and_remediates_nothing(dhbw, table, ssm):
    open_window(table, expires=NOW + timedelta(minutes=20))
    event = alarm_event("ALARM", "OK", alarm=CPU_ALARM)
    decision = admit(
        event, config=dhbw, store=Store(table, NOW), ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
    )
    assert decision.decision == "page" and decision.severity == "P3" and decision.runbook == ""
    assert "maintenance window open" in decision.note and "mw-1" in decision.note


def test_an_expired_window_does_not_suppress(dhbw, table, ssm):
    open_window(table, expires=NOW - timedelta(seconds=1))  # its execution crashed: it expired by itself
    event = alarm_event("ALARM", "OK", alarm=CPU_ALARM)
    decision = admit(
        event, config=dhbw, store=Store(table, NOW), ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
    )
    assert decision.decision == "remediate" and decision.severity == "P2"


def test_the_json_each_step_returns_carries_what_it_recorded(guard, settings, ecs, aas, table):
    # the state machine passes plans as JSON: the recorded counts must survive to_json between the steps
    with_floor(ecs, aas, desired=3, floor=3)
    plan = check_plan(guard({"services": [SERVICE], "minutes": 30}).to_json(), settings.customer)
    down = scale_down(plan, ecs=ecs, aas=aas, store=Store(table, NOW)).to_json()
    assert down["recorded"] == {SERVICE: {"desired": 3, "floor": 3, "max": 6}}
    back = restore(check_plan(down, settings.customer), ecs=ecs, aas=aas, store=Store(table, NOW)).to_json()
    assert back["recorded"] == down["recorded"]
    checked = check_running(check_plan(back, settings.customer), ecs=ecs).to_json()
    assert checked["running"] == {SERVICE: 3} and checked["outcome"] == "completed"
