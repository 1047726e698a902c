"""Security events (issue 7, section 6): admit classifies CloudTrail events from the catalog, pages the security
team at P1 once per burst window, and refuses what it does not watch."""

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from catalog.security import SECURITY_EVENTS
from lambdas.errors import InvalidEvent
from lambdas.logic.record import record
from lambdas.models.steps import Decision
from sandbox.eventbus import console_sign_in_event, parameter_change_event, security_group_event
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, REGION, all_items, item

AT = datetime(2026, 11, 26, 9, 12, 33, tzinfo=UTC)
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
SSH_FROM_ANYWHERE = [{"protocol": "tcp", "from": 22, "to": 22, "cidr": "0.0.0.0/0"}]


def sg_event(
    event_name: str = "AuthorizeSecurityGroupIngress",
    *,
    at: datetime = AT,
    group: str = "sg-0abc1234",
    permissions: list | None = None,
) -> dict:
    return security_group_event(
        event_name, group, ALICE, ACCOUNT, REGION, at=at, permissions=SSH_FROM_ANYWHERE if permissions is None else permissions
    )


def test_a_security_group_change_pages_the_security_team_at_p1_saying_who_what_where(world):
    # when admit reads someone opening SSH to the world
    decision = world.admit(sg_event())
    # then it pages (no runbook) the security team, P1, on a key of the kind and its 10-minute window
    assert decision.decision == "page" and decision.runbook == ""
    assert decision.team == "security" and decision.severity == "P1"
    assert decision.condition == "security-group-change" and decision.target == "sg-0abc1234"
    assert decision.alarm == "lecture-dhbw-security-group-change"  # the rule that caught it
    assert decision.dedup_key == "lecture-dhbw/security/security-group-change/20261126T0910Z"
    # and says who, what and where
    for part in (
        ALICE,
        "(IAMUser)",
        "from 203.0.113.7",
        "AuthorizeSecurityGroupIngress on sg-0abc1234",
        "tcp port 22 from 0.0.0.0/0",
        f"account {ACCOUNT}",
        f"region {REGION}",
        "2026-11-26T09:12:33+00:00",
        "no automatic change",
    ):
        assert part in decision.note
    sec = decision.security_event
    assert sec is not None
    assert sec["who"]["arn"] == ALICE and sec["who"]["type"] == "IAMUser" and sec["who"]["source_ip"] == "203.0.113.7"
    assert sec["what"] == {"group_id": "sg-0abc1234", "rules": ["tcp port 22 from 0.0.0.0/0"]}
    assert sec["where"] == {"account": ACCOUNT, "region": REGION, "event_time": "2026-11-26T09:12:33+00:00"}
    # and it survives the trip through the workflow's JSON
    assert Decision.model_validate(decision.to_json()).to_json() == decision.to_json()


def test_the_security_page_is_p1_error_with_the_event_in_custom_details(world):
    # given
    decision = world.admit(sg_event("RevokeSecurityGroupEgress"))
    # when the page step sends it
    world.pager.trigger_alarm(decision, {})
    # then PagerDuty has one P1 (error) alert on the window's key, saying who did what where
    [sent] = world.pd.accepted
    assert sent["dedup_key"] == decision.dedup_key
    payload = sent["payload"]
    assert payload["severity"] == "error" and payload["class"] == "security-group-change"
    assert payload["summary"].startswith(
        "[P1] lecture-dhbw sg-0abc1234: Security-group change - "
        "RevokeSecurityGroupEgress on sg-0abc1234 (tcp port 22 to 0.0.0.0/0), by "
        f"{ALICE} (IAMUser) from 203.0.113.7"
    )
    details = payload["custom_details"]
    assert details["security_event"]["who"]["arn"] == ALICE
    assert details["security_event"]["event_name"] == "RevokeSecurityGroupEgress"
    assert details["priority"] == "P1"
    # and a status update went out
    [update] = world.status_updates()
    assert "Impact: security: a security group" in update["Message"]


@pytest.mark.parametrize("event_name", SECURITY_EVENTS["security-group-change"].event_names)
def test_every_watched_security_group_call_is_classified(world, event_name):
    decision = world.admit(sg_event(event_name, permissions=[]))
    assert decision.decision == "page" and decision.condition == "security-group-change"
    assert decision.target == "sg-0abc1234"  # CreateSecurityGroup: the id AWS answered with
    assert f"{event_name} on sg-0abc1234" in decision.note


def test_twenty_changes_within_the_window_page_once_and_are_each_audited(world):
    # given 20 distinct security-group changes within one minute
    events = [sg_event(at=AT + timedelta(seconds=3 * i), group=f"sg-{i:08x}") for i in range(20)]
    # when admit and record handle each
    decisions = [world.admit(e) for e in events]
    for i, d in enumerate(decisions):
        record({"admit": d.to_json()}, store=world.store, pager=world.pager, execution=f"exec-{i}")
    # then one page decision, 19 recorded as part of the burst
    assert [d.decision for d in decisions] == ["page"] + ["ignore"] * 19
    first = decisions[0].incident_id
    assert all(f"incident {first} already paged" in d.note for d in decisions[1:])
    assert len({d.dedup_key for d in decisions}) == 1
    # and one claim in the table for the window
    claim = item(world.table, "claim#security#security-group-change#20261126T0910Z", "claim")
    assert claim is not None and claim["incident_id"] == first
    # and every event has its audit row, none paged by record
    for d in decisions:
        [row] = world.store.audit_trail(str(d.incident_id))
        assert row["decision"] == d.decision
    assert world.pd.requests == []


def test_a_later_window_pages_again_on_its_own_key(world):
    first = world.admit(sg_event(at=AT))
    later = world.admit(sg_event(at=AT + timedelta(minutes=10)))
    assert first.decision == later.decision == "page"
    assert later.dedup_key == "lecture-dhbw/security/security-group-change/20261126T0920Z" != first.dedup_key


def test_each_kind_has_its_own_window(world):
    sg = world.admit(sg_event())
    sign_in = world.admit(console_sign_in_event("bob", ACCOUNT, REGION, at=AT))
    assert sg.decision == sign_in.decision == "page" and sg.dedup_key != sign_in.dedup_key


def test_a_redelivery_of_the_paging_event_is_a_duplicate(world):
    event = sg_event()
    first, again = world.admit(event), world.admit(copy.deepcopy(event))
    assert first.decision == "page" and again.decision == "duplicate"
    assert again.incident_id == first.incident_id


def test_a_failed_console_sign_in_pages_security(world):
    decision = world.admit(console_sign_in_event("bob", ACCOUNT, REGION, at=AT))
    assert decision.decision == "page" and decision.team == "security" and decision.severity == "P1"
    assert decision.condition == "console-sign-in-failure" and decision.target == "bob"
    assert "console sign-in failed for bob (Failed authentication)" in decision.note
    assert "from 198.51.100.23" in decision.note
    assert decision.security_event is not None and decision.security_event["what"]["mfa_used"] == "No"


def test_a_successful_console_sign_in_is_not_a_security_event(world):
    with pytest.raises(InvalidEvent, match=r"signin.amazonaws.com ConsoleLogin .* is not a security event"):
        world.admit(console_sign_in_event("bob", ACCOUNT, REGION, success=True, at=AT))
    assert all_items(world.table) == []


def test_a_change_of_the_mode_switch_pages_security(world):
    event = parameter_change_event(MODE_PARAMETER, ALICE, ACCOUNT, REGION, at=AT)
    decision = world.admit(event)
    assert decision.decision == "page" and decision.team == "security"
    assert decision.condition == "mode-switch-change" and decision.target == MODE_PARAMETER
    assert f"PutParameter on the remediation mode switch {MODE_PARAMETER}, by {ALICE}" in decision.note


def test_a_change_of_another_parameter_is_refused(world):
    event = parameter_change_event("/lecture/other/remediation/mode", ALICE, ACCOUNT, REGION, at=AT)
    with pytest.raises(InvalidEvent, match="is not a security event this automation watches for customer dhbw"):
        world.admit(event)
    assert all_items(world.table) == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        pytest.param(
            lambda e: e["detail"].pop("eventName"),
            "malformed CloudTrail event: field 'detail.eventName': Field required",
            id="no-event-name",
        ),
        pytest.param(lambda e: e["detail"].update(eventTime="yesterday"), "field 'detail.eventTime'", id="bad-time"),
        pytest.param(lambda e: e["detail"].pop("userIdentity"), "field 'detail.userIdentity': Field required", id="no-identity"),
        pytest.param(
            lambda e: e["detail"].update(eventName="RunInstances"),
            "ec2.amazonaws.com RunInstances .* is not a security event",
            id="unwatched-call",
        ),
        pytest.param(
            lambda e: e.update(account="222222222222"),
            "from account 222222222222, but this automation serves customer dhbw in account 111111111111",
            id="other-account",
        ),
        pytest.param(lambda e: e.update(region="us-east-1"), "from region us-east-1", id="other-region"),
    ],
)
def test_a_malformed_or_foreign_cloudtrail_event_is_refused_clearly_and_changes_nothing(world, mutate, message):
    event = sg_event()
    mutate(event)
    with pytest.raises(InvalidEvent, match=message):
        world.admit(event)
    assert all_items(world.table) == []


def test_an_oversized_security_event_is_cut_to_fit_and_paged_to_security_saying_so(world):
    # given a change of 60 rules with a padded request (issue 15: it was refused, and security never heard of it)
    rules = [{"protocol": "tcp", "from": 1000 + i, "cidr": f"10.{i}.0.0/16"} for i in range(60)]
    event = sg_event(permissions=rules)
    event["detail"]["requestParameters"]["blob"] = "x" * 20000
    # when admit reads it
    decision = world.admit(event)
    # then it pages the security team with who, what and where, and says it was cut
    assert decision.decision == "page" and decision.team == "security" and decision.severity == "P1"
    for part in (
        ALICE,
        "AuthorizeSecurityGroupIngress on sg-0abc1234",
        "tcp port 1000 from 10.0.0.0/16",
        "50 more",
        f"account {ACCOUNT}",
        "too large to keep whole and was cut",
        "detail.requestParameters was",
    ):
        assert part in decision.note, part
    sec = decision.security_event
    assert sec["what"]["rule_count"] == 60 and len(sec["what"]["rules"]) == 11
    [cut] = sec["cut"]
    assert "cut to" in cut and "above the limit of 16384" in cut  # the long text kept its first 200 characters
    assert len(json.dumps(decision.to_json())) < 8 * 1024  # the decision stays small


def test_an_unreadable_event_of_a_security_rule_is_paged_to_security_too(world):
    # given an event of a security rule that admit could not read (a field missing)
    event = sg_event()
    del event["detail"]["eventTime"]
    state = {
        **event,
        "error": {"Error": "InvalidEvent", "Cause": "malformed CloudTrail event: field 'detail.eventTime': Field required"},
    }
    # when the failure is paged
    sent = world.pager.automation_failed(state, "exec-7")
    # then the infrastructure team hears that the automation failed, and the security team of the event
    infra, security = world.pd.accepted
    assert "automation failed" in infra["payload"]["summary"]
    assert sent["security"]["team"] == "security" and sent["security"]["sent"] == "trigger"
    summary = security["payload"]["summary"]
    assert summary.startswith("[P1] lecture-dhbw Security-group change - the event could not be read whole")
    for part in (
        "detail.eventTime",
        "AuthorizeSecurityGroupIngress on sg-0abc1234",
        ALICE,
        "from 203.0.113.7",
        f"account {ACCOUNT}",
    ):
        assert part in summary, part
    assert security["payload"]["severity"] == "error" and security["payload"]["class"] == "security-group-change"


def test_the_rule_pattern_and_admit_agree_on_what_is_caught(dhbw):
    """The rule's pattern, matched by EventBridge's own matcher (moto's), against admit's classification."""
    from moto.events.models import EventPattern

    kind = SECURITY_EVENTS["mode-switch-change"]
    pattern = EventPattern.load(json.dumps({"detail": kind.pattern_detail(dhbw)}))
    for name, expected in ((MODE_PARAMETER, True), ("/lecture/other/remediation/mode", False)):
        event = parameter_change_event(name, ALICE, ACCOUNT, REGION, at=AT)
        assert pattern.matches_event(event) is expected
        assert kind.matches(event["source"], event["detail-type"], event["detail"], dhbw) is expected
    sign_in = SECURITY_EVENTS["console-sign-in-failure"]
    pattern = EventPattern.load(json.dumps({"detail": sign_in.pattern_detail(dhbw)}))
    for success in (False, True):
        event = console_sign_in_event("bob", ACCOUNT, REGION, success=success, at=AT)
        assert pattern.matches_event(event) is not success
        assert sign_in.matches(event["source"], event["detail-type"], event["detail"], dhbw) is not success


def test_the_table_policy_rule_and_admit_agree_only_the_automations_own_table_is_caught(dhbw):
    # (issue 15: a change of the table's resource policy pages the security team)
    from moto.events.models import EventPattern

    from catalog import naming
    from sandbox.eventbus import resource_policy_event

    kind = SECURITY_EVENTS["table-policy-change"]
    pattern = EventPattern.load(json.dumps({"detail": kind.pattern_detail(dhbw)}))
    table = naming.table_arn("dhbw", REGION, ACCOUNT)
    for arn, event_name, expected in (
        (table, "DeleteResourcePolicy", True),
        (table, "PutResourcePolicy", True),
        (table + "-other", "DeleteResourcePolicy", False),
        (f"{table}/stream/2026-11-26T09:20:00.000", "PutResourcePolicy", False),
    ):
        event = resource_policy_event(event_name, arn, ALICE, ACCOUNT, REGION, at=AT)
        assert pattern.matches_event(event) is expected
        assert kind.matches(event["source"], event["detail-type"], event["detail"], dhbw) is expected
