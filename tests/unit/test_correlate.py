"""correlate (the ops account) on moto: the fleet table, the P0 pages (FakePagerDuty, checked against the official
schema) and the ops status topic. Issue 16's cases: two customers down -> one P0; one -> none; three -> one P0
updated once; recovery -> resolved once; flapping -> no second P0; redeliveries and late events; an account that
is no customer's; a malformed event."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from catalog.fleet import OpsConfig
from customers import load_ops
from lambdas.logic import pagerduty
from lambdas.logic.correlate import DOWN_PK, P0_PK, Fleet, correlate, recheck
from tests.unit.builders import NOW, status_queue

OPS = load_ops()
ACCOUNTS = {c: a for a, c in OPS.customers.items()}  # dhbw -> 111111111111 ...
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
OPS_KEY = "0123456789abcdef0123456789abcdef"


def incident_event(customer: str, state: str = "open", *, minute: float = 0, n: int = 1, down: bool = True, **overrides):
    detail = {
        "customer": customer,
        "incident_id": f"{customer}-inc-{n}",
        "kind": "ecs_service/running-tasks-low" if down else "ecs_service/cpu-high",
        "severity": "P1",
        "resource": "lecture-backend-service",
        "state": state,
        "time": (T0 + timedelta(minutes=minute)).isoformat(),
        "down": down,
        "alarm": f"lecture-{customer}-lecture-backend-service-running-tasks-low",
    }
    envelope = {
        "version": "0",
        "id": f"{customer}-{state}-{n}-{minute}",
        "detail-type": "Lecture Incident",
        "source": "lecture.remediation",
        "account": ACCOUNTS.get(customer, "123456789012"),
        "time": detail["time"],
        "region": "eu-central-1",
        "resources": [],
        "detail": detail,
    }
    envelope.update(overrides)
    return envelope


@pytest.fixture
def fleet(session, pd):
    ddb = session.resource("dynamodb")
    table = ddb.create_table(
        TableName="lecture-ops-fleet",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic_arn, sqs, queue_url = status_queue(session, "lecture-ops-status-updates")

    class World:
        def __init__(self, ops: OpsConfig = OPS):
            self.table, self.pd = table, pd
            self.fleet = Fleet(
                ops=ops,
                table=table,
                sns=session.client("sns"),
                topic_arn=topic_arn,
                send=lambda event, url: pagerduty.send(event, pd.events_url, sleep=lambda s: None),
                routing_key=lambda: OPS_KEY,
                now=NOW,
            )

        def deliver(self, *events):
            return [correlate(e, self.fleet) for e in events]

        def pages(self) -> list[dict]:
            assert all(not r["errors"] for r in pd.requests), pd.requests  # every page valid per the official schema
            return [r["body"] for r in pd.requests]

        def updates(self) -> list[dict]:
            got = []
            while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                for m in messages:
                    got.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            return got

        def audit(self, step: str | None = None) -> list[dict]:
            rows = [i for i in table.scan()["Items"] if i["pk"].startswith("audit#")]
            return [r for r in rows if step is None or r["step"] == step]

    return World()


def test_two_customers_down_within_the_window_page_exactly_one_p0_with_both(fleet):
    # when dhbw goes down, then edt four minutes later
    results = fleet.deliver(incident_event("dhbw", minute=0), incident_event("edt", minute=4))
    # then one P0: a critical trigger on its own dedup key, listing both customers and their incidents
    assert [r["outcome"] for r in results] == ["no-p0", "p0-opened"]
    [page] = fleet.pages()
    assert page["event_action"] == "trigger" and page["routing_key"] == OPS_KEY
    assert page["payload"]["severity"] == "critical" and page["dedup_key"] == f"lecture-ops/{results[1]['p0']}"
    details = page["payload"]["custom_details"]
    assert details["affected_customers"] == ["dhbw", "edt"] and details["urgency"] == "high"
    assert [i["incident_id"] for i in details["incidents"]["dhbw"]] == ["dhbw-inc-1"]
    assert [i["incident_id"] for i in details["incidents"]["edt"]] == ["edt-inc-1"]
    assert any(link["text"] == "Lecture-Fleet-Overview" for link in page["links"])
    # and the runbook's status update names the affected customers
    [update] = fleet.updates()
    assert update["Subject"] == f"[{results[1]['p0']}] - Lecture Infrastructure Issue - Status Update"
    assert "- Affected customers: dhbw, edt" in update["Message"] and "Current Status: Identified" in update["Message"]
    assert [r["step"] for r in fleet.audit()] == ["p0-open"]


def test_one_customer_down_is_no_p0(fleet):
    [result] = fleet.deliver(incident_event("dhbw"))
    assert result["outcome"] == "no-p0" and result["down"] == ["dhbw"]
    assert fleet.pages() == [] and fleet.updates() == []


def test_two_customers_down_further_apart_than_the_window_are_no_p0(fleet):
    fleet.deliver(incident_event("dhbw", minute=0), incident_event("edt", minute=OPS.correlation.window_minutes + 1))
    assert fleet.pages() == []


def test_a_cpu_warning_is_not_down(fleet):
    fleet.deliver(incident_event("dhbw"), incident_event("edt", minute=1, down=False))
    assert fleet.pages() == []


def test_three_customers_down_are_one_p0_updated_once(fleet):
    results = fleet.deliver(incident_event("dhbw"), incident_event("edt", minute=1), incident_event("unilux", minute=2))
    assert [r["outcome"] for r in results] == ["no-p0", "p0-opened", "p0-updated"]
    pages = fleet.pages()
    assert [p["event_action"] for p in pages] == ["trigger", "trigger"]  # the second updates the same alert
    assert {p["dedup_key"] for p in pages} == {f"lecture-ops/{results[1]['p0']}"}
    assert pages[1]["payload"]["custom_details"]["affected_customers"] == ["dhbw", "edt", "unilux"]
    assert "- Affected customers: dhbw, edt, unilux" in fleet.updates()[-1]["Message"]


def test_recovery_resolves_the_p0_once(fleet):
    # given a P0 of dhbw and edt
    fleet.deliver(incident_event("dhbw"), incident_event("edt", minute=1))
    # when edt's incident closes: fewer than min_customers down
    [recovering] = fleet.deliver(incident_event("edt", "closed", minute=20))
    assert recovering["outcome"] == "p0-recovering" and recovering["recheck"]["p0"] == recovering["p0"]
    # then after recover_minutes the workflow looks again: resolved, once (a second look changes nothing)
    assert recheck(recovering["recheck"], fleet.fleet)["outcome"] == "p0-resolved"
    assert recheck(recovering["recheck"], fleet.fleet)["outcome"] == "p0-not-resolved"
    pages = fleet.pages()
    assert [p["event_action"] for p in pages] == ["trigger", "resolve"]
    assert pages[1]["dedup_key"] == pages[0]["dedup_key"]
    resolved = fleet.updates()[-1]["Message"]
    assert "Current Status: Resolved" in resolved and "- Affected customers: dhbw, edt" in resolved


def test_a_flapping_customer_opens_no_second_p0(fleet):
    fleet.deliver(incident_event("dhbw"), incident_event("edt", minute=1))
    [first] = fleet.deliver(incident_event("edt", "closed", minute=3))
    # edt is down again (a new incident) before the P0 recovered, then up again
    [again] = fleet.deliver(incident_event("edt", minute=5, n=2))
    [second] = fleet.deliver(incident_event("edt", "closed", minute=6, n=2))
    assert again["outcome"] == "p0-open-again" and second["outcome"] == "p0-recovering"
    # the first recovery's look finds the P0 changed since: only the last one resolves it
    assert recheck(first["recheck"], fleet.fleet)["outcome"] == "p0-not-resolved"
    assert recheck(second["recheck"], fleet.fleet)["outcome"] == "p0-resolved"
    assert [p["event_action"] for p in fleet.pages()] == ["trigger", "resolve"]


def test_each_event_delivered_three_times_interleaved_is_one_p0(fleet):
    dhbw, edt = incident_event("dhbw"), incident_event("edt", minute=1)
    results = fleet.deliver(edt, dhbw, edt, dhbw, dhbw, edt)
    assert [r["outcome"] for r in results].count("p0-opened") == 1
    assert [r["outcome"] for r in results].count("stale") == 4
    assert [p["event_action"] for p in fleet.pages()] == ["trigger"]


def test_a_late_open_after_its_close_is_ignored(fleet):
    # dhbw's incident closed at minute 5; its open of minute 0 arrives after it (out of order)
    results = fleet.deliver(incident_event("dhbw", "closed", minute=5), incident_event("dhbw", minute=0))
    assert [r["outcome"] for r in results] == ["no-p0", "stale"]
    # then edt going down is the only customer down: no P0
    fleet.deliver(incident_event("edt", minute=2))
    assert fleet.pages() == []
    assert [i["sk"] for i in fleet.table.scan()["Items"] if i["pk"] == DOWN_PK] == ["edt#edt-inc-1"]


def test_an_event_from_an_account_that_is_no_customers_is_ignored(fleet):
    fleet.deliver(incident_event("dhbw"))
    foreign = incident_event("edt", minute=1, account="123456789012")
    [result] = fleet.deliver(foreign)
    assert result["outcome"] == "ignored" and "123456789012" in result["message"]
    assert fleet.pages() == []
    [row] = fleet.audit("correlate")
    assert row["outcome"] == "ignored" and row["account"] == "123456789012"


def test_an_account_speaks_only_for_its_own_customer(fleet):
    fleet.deliver(incident_event("dhbw"))
    # dhbw's account sends an event naming edt
    forged = incident_event("edt", minute=1, account=ACCOUNTS["dhbw"])
    [result] = fleet.deliver(forged)
    assert result["outcome"] == "refused" and "an account speaks only for its own customer" in result["message"]
    assert fleet.pages() == []


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda e: {**e, "detail": {**e["detail"], "state": "exploded"}}, "field 'state'"),
        (lambda e: {**e, "detail": {k: v for k, v in e["detail"].items() if k != "time"}}, "field 'time'"),
        (lambda e: {**e, "detail": "not an object"}, "malformed incident event from edt"),
        (lambda e: {**e, "source": "aws.ecs"}, "source 'aws.ecs'"),
    ],
)
def test_a_malformed_event_is_refused_with_an_audit_row_and_a_status_line_never_a_p0(fleet, mangle, problem):
    fleet.deliver(incident_event("dhbw"))
    [result] = fleet.deliver(mangle(incident_event("edt", minute=1)))
    assert result["outcome"] == "refused" and problem in result["message"]
    assert fleet.pages() == []
    [row] = fleet.audit("correlate")
    assert row["outcome"] == "refused" and problem in row["message"]
    [line] = fleet.updates()
    assert "The ops account refused an incident event" in line["Message"] and problem in line["Message"]
    assert fleet.table.get_item(Key={"pk": P0_PK, "sk": "current"}).get("Item") is None


def test_settled_records_the_outcome_and_never_reopens(fleet):
    fleet.deliver(incident_event("dhbw"), incident_event("dhbw", "closed", minute=5))
    settled = incident_event("dhbw", "settled", minute=9)
    settled["detail"]["outcome"] = "scaled"
    [result] = fleet.deliver(settled)
    assert result["outcome"] == "recorded"
    row = fleet.table.get_item(Key={"pk": "incident#dhbw", "sk": "dhbw-inc-1"})["Item"]
    assert (row["state"], row["outcome"]) == ("closed", "scaled")
    customer = fleet.table.get_item(Key={"pk": "fleet#customers", "sk": "dhbw"})["Item"]
    assert customer["last_outcome"] == "scaled" and not customer.get("open_incidents")


def test_the_customers_row_has_its_mode_and_open_incidents(fleet):
    event = incident_event("dhbw")
    event["detail"]["mode"] = "dry-run"
    fleet.deliver(event)
    row = fleet.table.get_item(Key={"pk": "fleet#customers", "sk": "dhbw"})["Item"]
    assert row["mode"] == "dry-run" and row["open_incidents"] == {"dhbw-inc-1"}
