"""admit: validate and classify the alarm event, claim the incident, read the mode switch."""

from datetime import UTC, datetime

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidEvent
from lambdas.logic.admit import admit
from lambdas.logic.store import Store
from lambdas.models.steps import Decision
from lambdas.runbooks import parse_input
from tests.unit.builders import (
    ACCOUNT,
    ALARM_AT,
    CPU_ALARM,
    MODE_PARAMETER,
    NOW,
    OK_AT,
    REGION,
    SERVICE,
    TASKS_ALARM,
    AsDelivered,
    alarm_event,
    all_items,
    item,
    without,
)

CPU_INCIDENT_PREFIX = "dhbw-20261126T091233123Z-cpu-high-"  # millisecond resolution
STATE_TS = "2026-11-26T09:12:33.123000+00:00"


@pytest.fixture
def run(dhbw, table, ssm):
    """admit() wired as the handler wires it: dhbw's config, the table, the mode switch."""

    def call(event, *, now=NOW):
        # the JSON admit's Lambda returns: the keys the workflow's JSONPaths read
        return admit(
            event, config=dhbw, store=Store(table, now), ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
        ).to_json()

    return call


def set_mode(ssm, value: str) -> None:
    ssm.put_parameter(Name=MODE_PARAMETER, Value=value, Type="String", Overwrite=True)


def test_cpu_high_alarm_is_remediated_by_scaling_the_service(run, table):
    # given
    event = alarm_event("ALARM", "OK", alarm=CPU_ALARM)
    # when
    decision = run(event)
    # then the decision
    inc = decision["incident_id"]
    assert inc.startswith(CPU_INCIDENT_PREFIX) and len(inc) == len(CPU_INCIDENT_PREFIX) + 4
    assert decision["decision"] == "remediate"
    assert decision["severity"] == "P2"
    assert decision["service"] == SERVICE and decision["condition"] == "cpu-high"
    assert decision["mode"] == "enforce" and decision["mode_note"] == ""
    assert decision["dedup_key"] == f"lecture-dhbw/{CPU_ALARM}"
    assert decision["runbook"] == "scale-ecs-service"
    assert decision["runbook_input"] == {
        "service": SERVICE,
        "delta": 1,
        "mode": "enforce",
        "incident_id": inc,
        "reason": f"alarm {CPU_ALARM} is in ALARM",
        "trigger": "alarm",
    }
    assert decision["child_execution_name"] == inc
    # and the runbook accepts that input as it stands
    parsed = parse_input(RUNBOOKS["scale-ecs-service"], decision["runbook_input"])
    assert (parsed.service, parsed.delta, parsed.mode, parsed.incident_id) == (SERVICE, 1, "enforce", inc)
    # and the claim and the open incident are in the table
    claim = item(table, f"claim#{CPU_ALARM}#ALARM#{STATE_TS}", "claim")
    assert claim is not None and claim["incident_id"] == inc
    opened = item(table, f"open#{CPU_ALARM}", "open")
    assert opened is not None and opened["incident_id"] == inc and opened["opened_at"] == STATE_TS
    state = item(table, f"state#{CPU_ALARM}", "state")  # the last state change handled (issue 5, 3.1)
    assert state["state"] == "ALARM" and state["at_ms"] == 1795684353123
    assert len(all_items(table)) == 3


@pytest.mark.parametrize("state, previous", [("ALARM", "OK"), ("OK", "ALARM"), ("INSUFFICIENT_DATA", "OK")])
def test_the_decision_read_back_by_page_and_record_is_the_one_admit_returned(run, state, previous):
    # given admit's JSON as the workflow hands it to page and record
    returned = run(alarm_event(state, previous, alarm=CPU_ALARM))
    # when they parse it into the decision model
    again = Decision.model_validate(returned)
    # then nothing is lost or added, including the kind's own target field ("service")
    assert again.to_json() == returned
    assert again.model_extra == {"service": SERVICE}


def test_memory_high_alarm_is_remediated_like_cpu_high(run):
    # given
    alarm = "lecture-dhbw-lecture-backend-service-memory-high"
    # when
    decision = run(alarm_event("ALARM", "OK", alarm=alarm))
    # then
    assert decision["decision"] == "remediate"
    assert decision["condition"] == "memory-high" and decision["severity"] == "P2"
    assert decision["runbook"] == "scale-ecs-service"
    assert decision["runbook_input"]["delta"] == 1
    assert decision["dedup_key"] == f"lecture-dhbw/{alarm}"


def test_running_tasks_low_alarm_pages_only_at_p1(run, table):
    # given
    event = alarm_event("ALARM", "OK", alarm=TASKS_ALARM)
    # when
    decision = run(event)
    # then
    assert decision["decision"] == "page"
    assert decision["severity"] == "P1"
    assert decision["runbook"] == ""
    assert "runbook_input" not in decision
    assert decision["note"].startswith("page only, no automatic action: ")
    assert decision["impact"] == "Single customer down: the service has no running tasks"
    assert item(table, f"open#{TASKS_ALARM}", "open")["incident_id"] == decision["incident_id"]


def test_the_same_event_twice_is_a_duplicate_of_the_first_incident(run, table):
    # given
    event = alarm_event("ALARM", "OK")
    first = run(event)
    # when EventBridge delivers it again (a retry)
    second = run(event, now=NOW.replace(minute=16))
    # then
    assert second["decision"] == "duplicate"
    assert second["incident_id"] == first["incident_id"]
    assert first["incident_id"] in second["note"]
    assert "runbook_input" not in second
    assert len(all_items(table)) == 3  # still one claim, one open incident, the last state seen


def test_ok_after_alarm_resolves_the_same_incident_and_alert(run, table):
    # given
    alarm = run(alarm_event("ALARM", "OK", at=ALARM_AT))
    # when
    resolved = run(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT, event_id="second-event"))
    # then
    assert resolved["decision"] == "resolve"
    assert resolved["incident_id"] == alarm["incident_id"]
    assert resolved["dedup_key"] == alarm["dedup_key"]
    assert resolved["opened_at"] == STATE_TS  # when the issue was identified, for the status update
    # the runbook's on-resolve step runs (it puts the autoscaling floor back)
    assert resolved["runbook"] == "scale-ecs-service"
    assert resolved["restore_input"] == {"service": SERVICE, "alarm": CPU_ALARM, "incident_id": alarm["incident_id"]}
    assert item(table, f"open#{CPU_ALARM}", "open") is None  # the incident is closed
    ok_claim = item(table, f"claim#{CPU_ALARM}#OK#2026-11-26T09:31:05.456000+00:00", "claim")
    assert ok_claim["incident_id"] == alarm["incident_id"]


def test_ok_delivered_twice_is_a_duplicate_of_the_same_incident(run):
    # given
    alarm = run(alarm_event("ALARM", "OK", at=ALARM_AT))
    ok = alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT)
    run(ok)
    # when
    again = run(ok)
    # then
    assert again["decision"] == "duplicate"
    assert again["incident_id"] == alarm["incident_id"]


def test_ok_after_insufficient_data_still_resolves_the_open_incident(run, table):
    # given an alarm that fired, then lost its data points (treat_missing_data=missing)
    alarm = run(alarm_event("ALARM", "OK", at=ALARM_AT))
    run(alarm_event("INSUFFICIENT_DATA", "ALARM", at="2026-11-26T09:20:00.000+0000", previous_at=ALARM_AT))
    # when it returns to OK
    ok = run(alarm_event("OK", "INSUFFICIENT_DATA", at=OK_AT, previous_at="2026-11-26T09:20:00.000+0000"))
    # then the open incident is resolved, not ignored
    assert ok["decision"] == "resolve"
    assert ok["incident_id"] == alarm["incident_id"]
    assert item(table, f"open#{CPU_ALARM}", "open") is None


def test_ok_after_insufficient_data_without_an_open_incident_is_ignored(run, table):
    # given no incident was ever opened for this alarm
    # when it goes from INSUFFICIENT_DATA (e.g. just created) to OK
    decision = run(alarm_event("OK", "INSUFFICIENT_DATA", at=OK_AT))
    # then
    assert decision["decision"] == "ignore"
    assert decision["note"] == "no action for a change from INSUFFICIENT_DATA to OK"
    assert [i["pk"] for i in all_items(table)] == [f"state#{CPU_ALARM}"]  # only the last state seen


def test_insufficient_data_is_ignored(run, table):
    # given
    event = alarm_event("INSUFFICIENT_DATA", "OK")
    # when
    decision = run(event)
    # then
    assert decision["decision"] == "ignore"
    assert decision["note"] == "no action for a change from OK to INSUFFICIENT_DATA"
    assert item(table, f"open#{CPU_ALARM}", "open") is None


def test_mode_off_pages_and_says_automation_is_off(run, ssm, table):
    # given
    set_mode(ssm, "off")
    # when
    decision = run(alarm_event("ALARM", "OK"))
    # then
    assert decision["decision"] == "page"
    assert decision["mode"] == "off"
    assert decision["runbook"] == ""
    assert "runbook_input" not in decision
    assert decision["note"] == f"automation is off for customer dhbw ({MODE_PARAMETER}); no action taken"
    assert item(table, f"open#{CPU_ALARM}", "open")["incident_id"] == decision["incident_id"]


def test_mode_dry_run_remediates_in_dry_run(run, ssm):
    # given
    set_mode(ssm, "dry-run")
    # when
    decision = run(alarm_event("ALARM", "OK"))
    # then
    assert decision["decision"] == "remediate"
    assert decision["mode"] == "dry-run"
    assert decision["runbook_input"]["mode"] == "dry-run"
    assert decision["note"] == "scale-ecs-service (dry-run)"


def test_unknown_mode_value_is_treated_as_dry_run_and_named(run, ssm):
    # given a typo in the mode switch
    set_mode(ssm, "sometimes")
    # when
    decision = run(alarm_event("ALARM", "OK"))
    # then
    assert decision["decision"] == "remediate"
    assert decision["mode"] == "dry-run"
    assert decision["runbook_input"]["mode"] == "dry-run"
    assert "'sometimes'" in decision["mode_note"]
    assert MODE_PARAMETER in decision["mode_note"]
    assert "treated as dry-run" in decision["mode_note"]


def test_missing_mode_parameter_is_treated_as_dry_run(run, ssm):
    # given the mode switch was deleted
    ssm.delete_parameter(Name=MODE_PARAMETER)
    # when
    decision = run(alarm_event("ALARM", "OK"))
    # then
    assert decision["mode"] == "dry-run"
    assert decision["runbook_input"]["mode"] == "dry-run"
    assert "could not be read" in decision["mode_note"]


def _wrong_detail_type():
    event = alarm_event()
    event["detail-type"] = "EC2 Instance State-change Notification"
    return event


def _bad_state_value():
    event = alarm_event()
    event["detail"]["state"]["value"] = "FIRING"
    return event


@pytest.mark.parametrize(
    "event, names",
    [
        pytest.param(
            without(alarm_event(), "detail.state"), ["field 'detail.state'", "Field required"], id="missing-detail.state"
        ),
        pytest.param(without(alarm_event(), "detail.alarmName"), ["field 'detail.alarmName'"], id="missing-alarm-name"),
        pytest.param(_wrong_detail_type(), ["field 'detail-type'", "CloudWatch Alarm State Change"], id="wrong-detail-type"),
        pytest.param(_bad_state_value(), ["field 'detail.state.value'"], id="unknown-state-value"),
        pytest.param(without(alarm_event(), "account"), ["field 'account'"], id="missing-account"),
        pytest.param(["not", "an", "event"], ["expected a JSON object, got list"], id="a-list"),
        pytest.param("ALARM", ["expected a JSON object, got str"], id="a-string"),
        pytest.param(None, ["expected a JSON object, got NoneType"], id="none"),
    ],
)
def test_malformed_event_is_rejected_naming_the_field_and_nothing_is_written(run, table, event, names):
    # when
    with pytest.raises(InvalidEvent) as caught:
        run(event)
    # then
    message = str(caught.value)
    assert message.startswith("malformed alarm event: ")
    for name in names:
        assert name in message
    assert all_items(table) == []


def test_alarm_of_another_customer_is_rejected_and_nothing_is_written(run, table):
    # given edt's alarm arriving in dhbw's account (a misrouted rule)
    alarm = "lecture-edt-lecture-backend-service-cpu-high"
    # when
    with pytest.raises(InvalidEvent) as caught:
        run(alarm_event("ALARM", "OK", alarm=alarm))
    # then
    message = str(caught.value)
    assert f"alarm '{alarm}' does not belong to customer dhbw" in message
    assert CPU_ALARM in message  # lists dhbw's own alarms
    assert all_items(table) == []


def test_event_from_another_account_is_rejected_and_nothing_is_written(run, table):
    # when
    with pytest.raises(InvalidEvent) as caught:
        run(alarm_event("ALARM", "OK", account="222222222222"))
    # then
    assert str(caught.value) == (
        "event from account 222222222222, but this automation serves customer dhbw in account 111111111111"
    )
    assert all_items(table) == []


# --- issue 5: region, payload size, real delivery (late, same second, in between, concurrent) -------------
def test_event_from_another_region_is_rejected_and_nothing_is_written(run, table):
    event = alarm_event("ALARM", "OK")
    event["region"] = "us-east-1"
    with pytest.raises(InvalidEvent) as caught:
        run(event)
    assert "event from region us-east-1" in str(caught.value) and "region eu-central-1" in str(caught.value)
    assert all_items(table) == []


def _oversized(dotted: str, value):
    event = alarm_event("ALARM", "OK")
    *parents, last = dotted.split(".")
    node = event
    for part in parents:
        node = node[part]
    node[last] = value
    return event


@pytest.mark.parametrize(
    "dotted, value",
    [
        ("id", "e" * 129),
        ("version", "0" * 17),
        ("region", "r" * 33),
        ("account", "1" * 13),
        ("resources", ["arn"] * 11),
        ("resources", ["a" * 2049]),
        ("detail.alarmName", "a" * 256),
        ("detail.state.reason", "r" * 1024),
        ("detail.state.reasonData", "d" * 4001),
        ("detail.configuration", {"description": "x" * 20_000}),
    ],
)
def test_oversized_event_fields_are_rejected_naming_the_field_and_nothing_is_written(run, table, dotted, value):
    with pytest.raises(InvalidEvent) as caught:
        run(_oversized(dotted, value))
    message = str(caught.value)
    assert f"field '{dotted.split('.')[-1]}" in message or f"field '{dotted}" in message
    assert len(message) < 1000  # names the field, does not echo it
    assert all_items(table) == []


def test_stale_alarm_after_a_later_ok_is_ignored_and_says_so(run, table):
    # given the OK of 09:31 was handled first (delivered early)
    ok = run(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT, event_id="ok-event"))
    assert ok["decision"] == "resolve"
    # when the ALARM of 09:12 arrives late
    late = run(alarm_event("ALARM", "OK", at=ALARM_AT, event_id="late-event"))
    # then it is ignored, and the note says it was stale
    assert late["decision"] == "ignore" and late["note"].startswith("stale: ")
    assert "older than the last state change" in late["note"]
    assert item(table, f"open#{CPU_ALARM}", "open") is None  # no incident opened
    assert item(table, f"claim#{CPU_ALARM}#ALARM#{STATE_TS}", "claim") is None
    assert item(table, f"state#{CPU_ALARM}", "state")["state"] == "OK"


def test_stale_insufficient_data_is_ignored_as_stale(run, table):
    run(alarm_event("ALARM", "OK", at=ALARM_AT))
    late = run(alarm_event("INSUFFICIENT_DATA", "OK", at="2026-11-26T09:00:00.000+0000"))
    assert late["decision"] == "ignore" and late["note"].startswith("stale: ")
    assert item(table, f"state#{CPU_ALARM}", "state")["state"] == "ALARM"


def test_alarm_ok_alarm_within_one_second_are_two_incidents_with_distinct_runs(run):
    first = run(alarm_event("ALARM", "OK", at="2026-11-26T09:12:33.100+0000", event_id="e1"))
    run(alarm_event("OK", "ALARM", at="2026-11-26T09:12:33.400+0000", event_id="e2"))
    second = run(alarm_event("ALARM", "OK", at="2026-11-26T09:12:33.800+0000", event_id="e3"))
    assert first["decision"] == second["decision"] == "remediate"
    assert first["incident_id"] != second["incident_id"]
    assert first["child_execution_name"] != second["child_execution_name"]


def test_execution_names_of_state_changes_stay_unique_and_valid():
    from datetime import timedelta

    from catalog import KINDS, naming
    from lambdas.logic.admit import incident_id

    kind = max((a for k in KINDS.values() for a in k.alarm_kinds), key=lambda k: len(k.condition))
    long_customer = "c" * 31
    names = {
        naming.execution_name(incident_id(long_customer, "s" * 255, kind, NOW + timedelta(milliseconds=i))) for i in range(5)
    }
    assert len(names) == 5
    assert all(len(n) <= 80 and all(ch.isalnum() or ch in "-_" for ch in n) for n in names)


def test_a_second_alarm_after_insufficient_data_continues_the_open_incident(run, table):
    first = run(alarm_event("ALARM", "OK", at=ALARM_AT, event_id="e1"))
    run(alarm_event("INSUFFICIENT_DATA", "ALARM", at="2026-11-26T09:20:00.000+0000", event_id="e2"))
    second = run(alarm_event("ALARM", "INSUFFICIENT_DATA", at="2026-11-26T09:25:00.000+0000", event_id="e3"))
    # the same incident (and alert), a runbook run of its own
    assert second["decision"] == "remediate" and second["incident_id"] == first["incident_id"]
    assert second["child_execution_name"] != first["child_execution_name"]
    assert f"continues incident {first['incident_id']}" in second["note"]
    assert item(table, f"open#{CPU_ALARM}", "open")["incident_id"] == first["incident_id"]
    assert item(table, f"open#{CPU_ALARM}", "open")["opened_at"] == STATE_TS
    # and OK resolves the first incident
    ok = run(alarm_event("OK", "ALARM", at=OK_AT, event_id="e4"))
    assert ok["decision"] == "resolve" and ok["incident_id"] == first["incident_id"]
    assert ok["opened_at"] == STATE_TS


class _Interleave:
    """A Store whose first read of the open incident lets another execution run first, by hand: deterministic."""

    def __init__(self, store, other):
        self._store, self._other, self._done = store, other, False

    def __getattr__(self, name):
        return getattr(self._store, name)

    def open_incident_of(self, alarm):
        found = self._store.open_incident_of(alarm)
        if not self._done:
            self._done = True
            self._other()
        return found


def test_two_concurrent_ok_deliveries_close_the_incident_once_and_orphan_nothing(dhbw, table, ssm):
    def run(event, store):
        return admit(
            event, config=dhbw, store=store, ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
        ).to_json()

    opened = run(alarm_event("ALARM", "OK", at=ALARM_AT), Store(table, NOW))
    ok = alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT)
    results = {}
    # A reads the open incident, then B runs entirely (closes it), then A goes on with what it read
    a_store = _Interleave(Store(table, NOW), lambda: results.setdefault("b", run(ok, Store(table, NOW))))
    results["a"] = run(ok, a_store)
    assert sorted(r["decision"] for r in results.values()) == ["duplicate", "resolve"]
    assert {r["incident_id"] for r in results.values()} == {opened["incident_id"]}  # no new id claimed
    assert item(table, f"open#{CPU_ALARM}", "open") is None
    claims = [i for i in all_items(table) if i["pk"].startswith("claim#")]
    assert {c["incident_id"] for c in claims} == {opened["incident_id"]}


def test_ok_racing_a_new_alarm_never_closes_the_wrong_incident(dhbw, table, ssm):
    def run(event, store):
        return admit(
            event, config=dhbw, store=store, ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
        ).to_json()

    # A (an ALARM) reads "no open incident"; meanwhile B (another ALARM of the same alarm, later) opens one
    first_at, second_at = "2026-11-26T09:12:33.123+0000", "2026-11-26T09:12:34.000+0000"
    b = {}
    a_store = _Interleave(
        Store(table, NOW),
        lambda: b.setdefault("b", run(alarm_event("ALARM", "OK", at=second_at, event_id="b"), Store(table, NOW))),
    )
    a = run(alarm_event("ALARM", "OK", at=first_at, event_id="a"), a_store)
    # A's transition was refused (the open incident changed, and A is older): it did not overwrite B's incident
    assert b["b"]["decision"] == "remediate"
    assert a["decision"] == "ignore" and a["note"].startswith("stale: ")
    assert item(table, f"open#{CPU_ALARM}", "open")["incident_id"] == b["b"]["incident_id"]


# --- admit confirms the alarm's state with DescribeAlarms (issue 15, Low 4) ------------------------------------
@pytest.fixture
def cloudwatch(session):
    """CloudWatch (moto) with the CPU alarm, put in a state at a given time as CloudWatch would have it."""
    from moto.cloudwatch.models import cloudwatch_backends

    client = session.client("cloudwatch")
    client.put_metric_alarm(
        AlarmName=CPU_ALARM,
        MetricName="CPUUtilization",
        Namespace="AWS/ECS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=3,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )

    def set_state(value: str, at: str) -> None:
        alarm = cloudwatch_backends[ACCOUNT][REGION].alarms[CPU_ALARM]
        alarm.state_value = value
        alarm.state_updated_timestamp = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).replace(tzinfo=None)

    client.set_state = set_state
    return client


def confirmed_by(cloudwatch, dhbw, table, ssm):
    def call(event):
        return admit(
            event, config=dhbw, store=Store(table, NOW), ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=cloudwatch
        ).to_json()

    return call


def test_a_forged_ok_does_not_close_the_open_incident(cloudwatch, dhbw, table, ssm):
    # given the alarm in ALARM since 09:12:33 and its incident open
    cloudwatch.set_state("ALARM", ALARM_AT)
    run = confirmed_by(cloudwatch, dhbw, table, ssm)
    opened = run(alarm_event("ALARM", "OK"))
    assert opened["decision"] == "remediate"
    # when an OK that never happened arrives (respond started directly)
    forged = run(alarm_event("OK", "ALARM", at=OK_AT, previous_at=ALARM_AT))
    # then it is ignored, with why, and the incident stays open
    assert forged["decision"] == "ignore" and forged["note"].startswith("not confirmed: ")
    assert f"{CPU_ALARM} has been ALARM since 2026-11-26T09:12:33.123000+00:00" in forged["note"]
    assert item(table, f"open#{CPU_ALARM}", "open")["incident_id"] == opened["incident_id"]


def test_a_forged_alarm_in_the_alarms_own_time_but_another_state_opens_nothing(cloudwatch, dhbw, table, ssm):
    cloudwatch.set_state("OK", ALARM_AT)
    decision = confirmed_by(cloudwatch, dhbw, table, ssm)(alarm_event("ALARM", "OK"))
    assert decision["decision"] == "ignore" and "is OK since" in decision["note"] and "not ALARM" in decision["note"]
    assert all_items(table) == []  # nothing claimed, opened or remembered


def test_a_late_event_superseded_by_a_later_change_is_stale(cloudwatch, dhbw, table, ssm):
    # the alarm went back to OK at 09:31; the ALARM of 09:12 arrives only now
    cloudwatch.set_state("OK", OK_AT)
    decision = confirmed_by(cloudwatch, dhbw, table, ssm)(alarm_event("ALARM", "OK"))
    assert decision["decision"] == "ignore" and decision["note"].startswith("stale: this ALARM of ")
    assert "superseded" in decision["note"] and all_items(table) == []


def test_a_late_event_of_the_state_the_alarm_is_still_in_is_handled(cloudwatch, dhbw, table, ssm):
    # ALARM at 09:12, OK, ALARM again at 09:31: the first ALARM arrives late, the alarm is in ALARM: it counts
    cloudwatch.set_state("ALARM", OK_AT)
    assert confirmed_by(cloudwatch, dhbw, table, ssm)(alarm_event("ALARM", "OK"))["decision"] == "remediate"


def test_an_alarm_cloudwatch_does_not_have_cannot_be_confirmed(session, dhbw, table, ssm):
    with pytest.raises(InvalidEvent, match="does not exist in CloudWatch"):
        admit(
            alarm_event("ALARM", "OK"),
            config=dhbw,
            store=Store(table, NOW),
            ssm=ssm,
            mode_parameter=MODE_PARAMETER,
            cloudwatch=session.client("cloudwatch"),
        )
    assert all_items(table) == []
