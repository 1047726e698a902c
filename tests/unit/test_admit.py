"""admit: validate and classify the alarm event, claim the incident, read the mode switch."""

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidEvent
from lambdas.logic.admit import admit
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from tests.unit.builders import (ALARM_AT, CPU_ALARM, MODE_PARAMETER, NOW, OK_AT, SERVICE, TASKS_ALARM, alarm_event,
                                 all_items, item, without)

CPU_INCIDENT_PREFIX = "dhbw-20261126T091233Z-cpu-high-"
STATE_TS = "2026-11-26T09:12:33.123000+00:00"


@pytest.fixture
def run(dhbw, table, ssm):
    """admit() wired as the handler wires it: dhbw's config, the table, the mode switch."""
    def call(event, *, now=NOW):
        return admit(event, config=dhbw, store=Store(table, now), ssm=ssm, mode_parameter=MODE_PARAMETER)
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
    assert decision["runbook_input"] == {"service": SERVICE, "delta": 1, "mode": "enforce", "incident_id": inc,
                                         "reason": f"alarm {CPU_ALARM} is in ALARM"}
    assert decision["child_execution_name"] == inc
    # and the runbook accepts that input as it stands
    parsed = parse_input(RUNBOOKS["scale-ecs-service"], decision["runbook_input"])
    assert (parsed.service, parsed.delta, parsed.mode, parsed.incident_id) == (SERVICE, 1, "enforce", inc)
    # and the claim and the open incident are in the table
    claim = item(table, f"claim#{CPU_ALARM}#ALARM#{STATE_TS}", "claim")
    assert claim is not None and claim["incident_id"] == inc
    opened = item(table, f"open#{CPU_ALARM}", "open")
    assert opened is not None and opened["incident_id"] == inc and opened["opened_at"] == STATE_TS
    assert len(all_items(table)) == 2


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
    assert len(all_items(table)) == 2  # still one claim and one open incident


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
    assert resolved["runbook"] == ""
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
    assert all_items(table) == []


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


@pytest.mark.parametrize("event, names", [
    pytest.param(without(alarm_event(), "detail.state"), ["field 'detail.state'", "Field required"],
                 id="missing-detail.state"),
    pytest.param(without(alarm_event(), "detail.alarmName"), ["field 'detail.alarmName'"], id="missing-alarm-name"),
    pytest.param(_wrong_detail_type(), ["field 'detail-type'", "CloudWatch Alarm State Change"],
                 id="wrong-detail-type"),
    pytest.param(_bad_state_value(), ["field 'detail.state.value'"], id="unknown-state-value"),
    pytest.param(without(alarm_event(), "account"), ["field 'account'"], id="missing-account"),
    pytest.param(["not", "an", "event"], ["expected a JSON object, got list"], id="a-list"),
    pytest.param("ALARM", ["expected a JSON object, got str"], id="a-string"),
    pytest.param(None, ["expected a JSON object, got NoneType"], id="none"),
])
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
    assert str(caught.value) == ("event from account 222222222222, but this automation serves customer dhbw "
                                 "in account 111111111111")
    assert all_items(table) == []
