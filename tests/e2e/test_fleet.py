"""The fleet end to end (issue 16): three customers in their own accounts and the ops account, from the deployed
snapshot. A down alarm goes through the customer's respond (admit emits the incident event on its default bus),
its forwarding rule (a cross-account bus target), the ops bus and the correlate workflow, to the P0 on the fake
PagerDuty (checked against the official schema). Every Lambda call is checked against its role (least privilege)."""

import copy

from tests.conftest import FLEET

TASKS_LOW = "lecture-{}-lecture-backend-service-running-tasks-low"
CPU_HIGH = "lecture-{}-lecture-backend-service-cpu-high"


def down(sb, customer, state="ALARM", deliveries=1):
    sb.fire_alarm(TASKS_LOW.format(customer), state, deliveries=deliveries, customer=customer)


def correlations(sb) -> list[tuple]:
    return [(c["customer"], c["state"], c["outcome"]) for c in sb.ops_report()["correlations"]]


def p0_actions(sb) -> list[str]:
    return [p["body"]["event_action"] for p in sb.p0_pages()]


def schema_clean(sb) -> None:
    assert all(not r["errors"] for r in sb.pagerduty.requests)


def test_two_customers_down_page_exactly_one_p0_with_both(fleet):
    down(fleet, "dhbw")
    down(fleet, "edt")
    fleet.finish()
    [p0] = fleet.p0_pages()
    body = p0["body"]
    assert body["event_action"] == "trigger" and body["payload"]["severity"] == "critical"
    details = body["payload"]["custom_details"]
    assert details["affected_customers"] == ["dhbw", "edt"] and details["urgency"] == "high"
    assert [i["incident_id"] for i in details["incidents"]["edt"]] == [fleet.ops_report()["down"][1]["incident_id"]]
    assert ("edt", "open", "p0-opened") in correlations(fleet)
    # the P0's status update, in the runbook's template, on the ops topic
    [update] = [n for n in fleet.ops_report()["notifications"] if "P0-" in n["subject"]]
    assert "- Affected customers: dhbw, edt" in update["message"]
    # and each customer incident kept its own P1 page, on its own key
    customer_pages = [r for r in fleet.pagerduty.requests if r not in fleet.p0_pages()]
    assert sorted(r["body"]["dedup_key"] for r in customer_pages) == [
        f"lecture-dhbw/{TASKS_LOW.format('dhbw')}",
        f"lecture-edt/{TASKS_LOW.format('edt')}",
    ]
    schema_clean(fleet)


def test_one_customer_down_is_no_p0(fleet):
    down(fleet, "dhbw")
    fleet.sb_cpu = fleet.fire_alarm(CPU_HIGH.format("edt"), customer="edt")  # a CPU warning is not "down"
    fleet.finish()
    assert fleet.p0_pages() == []
    assert ("dhbw", "open", "no-p0") in correlations(fleet)
    assert ("edt", "open", "recorded") in correlations(fleet)


def test_three_customers_down_are_one_p0_updated_once(fleet):
    for customer in FLEET:
        down(fleet, customer)
    fleet.finish()
    assert p0_actions(fleet) == ["trigger", "trigger"]  # the second updates the same alert
    pages = fleet.p0_pages()
    assert pages[0]["body"]["dedup_key"] == pages[1]["body"]["dedup_key"]
    assert pages[1]["body"]["payload"]["custom_details"]["affected_customers"] == FLEET
    assert [o for *_, o in correlations(fleet) if o.startswith("p0-")] == ["p0-opened", "p0-updated"]


def test_recovery_resolves_the_p0_once(fleet):
    down(fleet, "dhbw")
    down(fleet, "edt")
    down(fleet, "edt", "OK")  # edt's incident closes: one customer down, the P0 is recovering
    fleet.finish()  # the recover_minutes wait passes
    assert p0_actions(fleet) == ["trigger", "resolve"]
    report = fleet.ops_report()
    assert report["p0"]["state"] == "resolved"
    [recovering] = [c for c in report["correlations"] if c["outcome"] == "p0-recovering"]
    assert recovering["recheck"] == "p0-resolved"
    assert any("Current Status: Resolved" in n["message"] for n in report["notifications"])


def test_a_flapping_customer_opens_no_second_p0(fleet):
    down(fleet, "dhbw")
    down(fleet, "edt")
    down(fleet, "edt", "OK")
    down(fleet, "edt")  # down again before the P0 recovered: a new incident, the same P0
    fleet.finish()
    assert p0_actions(fleet) == ["trigger"]
    outcomes = [o for *_, o in correlations(fleet) if o.startswith("p0-")]
    assert outcomes == ["p0-opened", "p0-recovering", "p0-open-again"]
    assert fleet.ops_report()["p0"]["state"] == "open"


def test_incident_events_delivered_three_times_and_out_of_order_page_one_p0(fleet):
    # given the incident events the customers emitted (read back from the correlate runs' input)
    down(fleet, "dhbw")
    down(fleet, "edt")
    fleet.finish()
    events = [copy.deepcopy(e["input"]) for e in fleet.executions_log.all(fleet.ops.state_machines())]
    opened = [e for e in events if e["detail"]["state"] == "open"]
    assert [e["detail"]["customer"] for e in opened] == ["dhbw", "edt"]
    # when each is delivered again, three times, newest first
    for event in [opened[1], opened[0]] * 3:
        fleet.ops.bus.put(event)
    fleet.finish()
    # then nothing changed: still one P0 trigger, the redeliveries stale
    assert p0_actions(fleet) == ["trigger"]
    assert [o for *_, o in correlations(fleet)].count("stale") == 6


def test_an_event_from_an_account_that_is_no_customers_is_ignored(fleet):
    down(fleet, "dhbw")
    fleet.finish()
    [event] = [copy.deepcopy(e["input"]) for e in fleet.executions_log.all(fleet.ops.state_machines())][:1]
    foreign = {**event, "account": "123456789012", "detail": {**event["detail"], "customer": "edt", "incident_id": "x-1"}}
    fleet.ops.bus.put(foreign)
    fleet.finish()
    assert fleet.p0_pages() == []
    report = fleet.ops_report()
    assert report["refused"] == [{"outcome": "ignored", "account": "123456789012", "message": report["refused"][0]["message"]}]
    assert "which is no customer's" in report["refused"][0]["message"]


def test_a_malformed_incident_event_is_refused_with_an_audit_row_and_a_status_line_never_a_p0(fleet):
    down(fleet, "dhbw")
    fleet.finish()
    [event] = [copy.deepcopy(e["input"]) for e in fleet.executions_log.all(fleet.ops.state_machines())][:1]
    edt = {**event, "account": "222222222222", "detail": {**event["detail"], "customer": "edt", "state": "down!!"}}
    fleet.ops.bus.put(edt)
    fleet.finish()
    assert fleet.p0_pages() == []
    report = fleet.ops_report()
    [refused] = report["refused"]
    assert refused["outcome"] == "refused" and "field 'state'" in refused["message"]
    assert any("The ops account refused an incident event" in n["message"] for n in report["notifications"])


def test_the_p0_game_day_scenario(fleet):
    from pathlib import Path

    from sandbox import scenario as scenarios

    fleet_files = [
        p for p in sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.*")) if scenarios.load(p).customers
    ]
    assert [p.name for p in fleet_files] == ["p0-two-customers-down.json"]  # every shipped fleet game day runs here
    scenario = scenarios.load(fleet_files[0])
    report = scenarios.run_steps(scenario, fleet)
    assert scenarios.check_expectations(scenario, report) == []
    # a section per customer and one for ops
    assert list(report["customers"]) == FLEET and report["customers"]["edt"]["customer"] == "edt"
    assert [p["kind"] for p in report["customers"]["edt"]["pages"]] == ["trigger", "resolve"]  # edt's own P1
    assert report["ops"]["p0"]["state"] == "resolved" and report["ops"]["p0"]["customers"] == ["dhbw", "edt"]
