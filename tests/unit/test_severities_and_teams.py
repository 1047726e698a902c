"""Issue 7: the severity matrix and per-customer overrides, teams, links, change events, trimming and the SNS
fallback. Sent to FakePagerDuty, which validates every request against the official OpenAPI document."""

import functools
import json

import pytest

from catalog import CustomerConfig
from customers import CustomerConfigError, load_file
from lambdas.errors import PagerDutyError
from lambdas.logic import pagerduty
from lambdas.logic.admit import admit
from lambdas.logic.paging import Pager
from lambdas.models.steps import Outcome
from tests.unit.builders import CPU_ALARM, MODE_PARAMETER, NOW, ROUTING_KEY, SERVICE, AsDelivered, alarm_event
from tests.unit.test_customers import VALID, write

KEYS = {"infrastructure": ROUTING_KEY, "security": "5ec0000000000000000000000000000a"}


def pager_for(world, config=None, execution="exec-7"):
    return Pager(
        config=config or world.config,
        sns=world.pager.sns,
        topic_arn=world.pager.topic_arn,
        events_url=world.pd.events_url,
        routing_key=KEYS.__getitem__,
        now=NOW,
        send=functools.partial(pagerduty.send, sleep=lambda s: None),
        execution=execution,
    )


def with_severities(config: CustomerConfig, severities: dict[str, str]) -> CustomerConfig:
    return CustomerConfig.model_validate({**config.model_dump(mode="json"), "severities": severities})


def valid_requests(world) -> list[dict]:
    """Every request PagerDuty received; each must have been accepted by the schema-checking fake."""
    requests = world.pd.requests
    assert [(r["status"], r["errors"]) for r in requests] == [(202, [])] * len(requests)
    return requests


# --- customer file ----------------------------------------------------------------------------------------


def test_a_customer_file_overrides_severities_and_adds_a_team(tmp_path):
    # given
    path = write(
        tmp_path,
        "acme",
        VALID.format(name="acme")
        + """\
severities:
  ecs_service/cpu-high: P1
  rds_cluster/memory-low: P3
paging:
  teams:
    database:
      secret: lecture/acme/pagerduty-dba-routing-key
""",
    )
    # when
    config = load_file(path)
    # then
    assert config.severities == {"ecs_service/cpu-high": "P1", "rds_cluster/memory-low": "P3"}
    assert {t: s.secret for t, s in config.paging.teams.items()} == {
        "database": "lecture/acme/pagerduty-dba-routing-key",
        "infrastructure": "lecture/acme/pagerduty-routing-key",
        "security": "lecture/acme/pagerduty-security-routing-key",
    }


def test_an_unknown_alarm_kind_in_severities_is_refused_naming_the_known_ones(tmp_path):
    path = write(tmp_path, "acme", VALID.format(name="acme") + "severities:\n  ecs_service/cpu-hihg: P1\n")
    with pytest.raises(CustomerConfigError) as caught:
        load_file(path)
    text = str(caught.value)
    assert "ecs_service/cpu-hihg" in text and "known:" in text
    assert "ecs_service/cpu-high" in text and "rds_cluster/memory-low" in text


def test_a_severity_that_is_not_p0_to_p3_is_refused(tmp_path):
    path = write(tmp_path, "acme", VALID.format(name="acme") + "severities:\n  ecs_service/cpu-high: P5\n")
    with pytest.raises(CustomerConfigError, match="severities"):
        load_file(path)


# --- the severity matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "expected"), [("P0", "critical"), ("P1", "error"), ("P2", "warning")])
def test_p0_to_p2_page_pagerduty_with_the_matrix_severity(world, severity, expected):
    # given a customer file that sets the CPU alarm's severity
    config = with_severities(world.config, {"ecs_service/cpu-high": severity})
    event = alarm_event("ALARM", "OK")
    decision = admit(
        event, config=config, store=world.store, ssm=world.ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
    )
    # when
    pager_for(world, config).trigger_alarm(decision, {"desired": 2})
    # then admit carried the effective severity and the page used the matrix
    assert decision.severity == severity
    [request] = valid_requests(world)
    assert request["body"]["payload"]["severity"] == expected
    assert request["body"]["payload"]["custom_details"]["priority"] == severity
    [update] = world.status_updates()
    assert update["Attributes"] == {
        "customer": "dhbw",
        "severity": severity,
        "status": "Identified",
        "team": "infrastructure",
        "kind": "status-update",
    }


def test_without_an_override_the_alarm_kinds_default_applies(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    assert decision.severity == "P2"  # ecs_service/cpu-high's default


def test_a_p3_alarm_sends_no_pagerduty_request_only_a_status_update(world):
    # given the CPU alarm made P3 by the customer file
    config = with_severities(world.config, {"ecs_service/cpu-high": "P3"})
    event = alarm_event("ALARM", "OK")
    decision = admit(
        event, config=config, store=world.store, ssm=world.ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
    )
    pager = pager_for(world, config)
    # when it is paged, the runbook scales (a change) and refuses later (an outcome page), then it resolves
    sent = pager.trigger_alarm(decision, {"desired": 2})
    pager.change(decision, Outcome(outcome="scaled", message="scaled from 2 to 3"))
    pager.outcome(decision, Outcome(outcome="refused", message="at its maximum"), needs_person=True)
    pager.resolve(decision)
    # then PagerDuty heard nothing at all; the email list got the status updates
    assert world.pd.requests == []
    assert sent["sent"] == "status-update"
    updates = world.status_updates()
    assert [u["Attributes"]["status"] for u in updates] == ["Identified", "Identified", "Resolved"]
    assert {u["Attributes"]["severity"] for u in updates} == {"P3"}


# --- teams, links -----------------------------------------------------------------------------------------


def test_a_page_goes_to_its_teams_routing_key_names_the_team_and_carries_the_links(world):
    # given a decision for the security team
    decision = world.admit(alarm_event("ALARM", "OK")).model_copy(update={"team": "security"})
    # when
    sent = pager_for(world, execution="inc-42-exec").trigger_alarm(decision, {"desired": 2})
    # then
    [request] = valid_requests(world)
    body = request["body"]
    assert body["routing_key"] == KEYS["security"]
    assert body["payload"]["custom_details"]["team"] == "security" and sent["team"] == "security"
    assert ROUTING_KEY not in json.dumps(sent)  # never a key in what the step returns
    region = "https://eu-central-1.console.aws.amazon.com"
    assert body["links"] == [
        {
            "href": f"{region}/cloudwatch/home?region=eu-central-1#alarmsV2:alarm/{CPU_ALARM}",
            "text": f"CloudWatch alarm {CPU_ALARM}",
        },
        {
            "href": f"{region}/ecs/v2/clusters/lecture-dhbw-cluster/services/{SERVICE}/health?region=eu-central-1",
            "text": f"ECS service {SERVICE}",
        },
        {
            "href": f"{region}/states/home?region=eu-central-1#/v2/executions/details/"
            "arn:aws:states:eu-central-1:111111111111:execution:lecture-dhbw-respond:inc-42-exec",
            "text": "Step Functions execution inc-42-exec",
        },
    ]
    [update] = world.status_updates()
    assert update["Attributes"]["team"] == "security"


def test_an_aurora_page_links_to_the_cluster(world):
    decision = world.admit(alarm_event("ALARM", "OK", alarm="lecture-dhbw-cluster-cpu-high"))
    pager_for(world).trigger_alarm(decision, {})
    [request] = valid_requests(world)
    texts = [link["text"] for link in request["body"]["links"]]
    assert "Aurora cluster lecture-dhbw-cluster" in texts
    assert any(
        "rds/home?region=eu-central-1#database:id=lecture-dhbw-cluster;is-cluster=true" in link["href"]
        for link in request["body"]["links"]
    )


# --- every request kind against the official schema ----------------------------------------------------------


def test_trigger_resolve_and_change_all_validate_against_the_official_schema(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    pager = pager_for(world)
    pager.trigger_alarm(decision, {"desired": 2})
    pager.change(decision, Outcome(outcome="scaled", message="scaled from 2 to 3"))
    pager.resolve(decision)
    requests = valid_requests(world)
    assert [(r["path"], r["body"].get("event_action")) for r in requests] == [
        ("/v2/enqueue", "trigger"),
        ("/v2/change/enqueue", None),
        ("/v2/enqueue", "resolve"),
    ]
    change = requests[1]["body"]
    assert change["payload"]["summary"] == f"lecture-dhbw {SERVICE}: scale-ecs-service scaled - scaled from 2 to 3"
    assert change["payload"]["custom_details"]["execution"] == "exec-7"


def test_the_change_url_is_on_the_events_urls_host():
    assert (
        pagerduty.change_url("https://events.eu.pagerduty.com/v2/enqueue") == "https://events.eu.pagerduty.com/v2/change/enqueue"
    )


# --- trimming ------------------------------------------------------------------------------------------------


def test_a_huge_diagnosis_is_trimmed_not_the_json_and_the_page_says_what_was_cut(world):
    # given a diagnosis of about 900 KB: many events and a long log
    decision = world.admit(alarm_event("ALARM", "OK"))
    diagnosis = {"desired": 2, "events": [f"event {i}: " + "x" * 200 for i in range(3000)], "log": "y" * 300_000}
    # when
    pager_for(world).trigger_alarm(decision, diagnosis)
    # then the page went out, whole JSON, under 512 KB, with the small parts intact
    [request] = valid_requests(world)
    assert len(json.dumps(request["body"]).encode()) < pagerduty.MAX_BYTES
    details = request["body"]["payload"]["custom_details"]
    assert details["diagnosis"]["desired"] == 2
    assert 0 < len(details["diagnosis"]["events"]) < 3000
    assert details["diagnosis"]["events"][0] == diagnosis["events"][0]
    assert any(note.startswith("diagnosis.events: kept the first") for note in details["trimmed"])


def test_a_small_diagnosis_is_not_touched(world):
    decision = world.admit(alarm_event("ALARM", "OK"))
    pager_for(world).trigger_alarm(decision, {"desired": 2})
    [request] = valid_requests(world)
    assert "trimmed" not in request["body"]["payload"]["custom_details"]


# --- retries and the fallback ----------------------------------------------------------------------------------


def test_429_429_then_202_gives_exactly_one_alert(world):
    world.pd.script([429, 429, 202])
    decision = world.admit(alarm_event("ALARM", "OK"))
    pager_for(world).trigger_alarm(decision, {"desired": 2})
    assert [r["status"] for r in world.pd.requests] == [429, 429, 202]
    [alert] = world.pd.accepted
    assert alert["event_action"] == "trigger" and alert["dedup_key"] == decision.dedup_key
    assert [u["Attributes"]["kind"] for u in world.status_updates()] == ["status-update"]  # no fallback


def test_a_persistent_500_falls_back_to_sns_then_raises(world):
    world.pd.script([500, 500, 500])
    decision = world.admit(alarm_event("ALARM", "OK"))
    with pytest.raises(PagerDutyError, match="unavailable after 3 attempts"):
        pager_for(world).trigger_alarm(decision, {"desired": 2})
    assert world.pd.accepted == []
    update, fallback = world.status_updates()
    assert fallback["Attributes"] == {
        "customer": "dhbw",
        "severity": "P2",
        "status": "page-fallback",
        "team": "infrastructure",
        "kind": "page-fallback",
    }
    assert fallback["Subject"].startswith("PAGE NOT DELIVERED: [P2] lecture-dhbw lecture-backend-service")
    assert "Summary: [P2] lecture-dhbw lecture-backend-service: ECS service CPU utilisation is high" in fallback["Message"]
    assert ROUTING_KEY not in fallback["Message"]
