"""Security events (issue 7, section 6) on the template: one rule per catalog kind, account and region pinned,
respond as the target with the alarm rule's retries and dead-letter queue."""

import json

import pytest

from catalog.security import SECURITY_EVENTS
from customers import known_customers, load_customer
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def _rules(template: dict) -> dict[str, dict]:
    return {
        r["Properties"]["Name"]: r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if "Name" in r["Properties"]
    }


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_each_security_event_kind_has_a_rule_pinned_to_the_customer_targeting_respond(templates, customer):
    c = load_customer(customer)
    rules = _rules(templates[customer])
    [alarm_rule] = [r for r in rules.values() if r.get("EventPattern", {}).get("source") == ["aws.cloudwatch"]]
    [alarm_target] = alarm_rule["Targets"]
    for kind in SECURITY_EVENTS.values():
        rule = rules[f"lecture-{customer}-{kind.name}"]
        pattern = rule["EventPattern"]
        assert pattern["account"] == [c.account] and pattern["region"] == [c.region]
        assert pattern["source"] == [kind.source] and pattern["detail-type"] == [kind.detail_type]
        assert pattern["detail"]["eventSource"] == [kind.event_source]
        [target] = rule["Targets"]
        # the same state machine, retries and dead-letter queue as the alarm rule
        assert target["Arn"] == alarm_target["Arn"] and "respond" in json.dumps(target["Arn"]).lower()
        assert target["DeadLetterConfig"] == alarm_target["DeadLetterConfig"]
        assert (
            target["RetryPolicy"] == alarm_target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 8}
        )


def test_the_security_rules_catch_exactly_the_issues_events(templates):
    rules = _rules(templates["dhbw"])
    sg = rules["lecture-dhbw-security-group-change"]["EventPattern"]
    assert sg["source"] == ["aws.ec2"] and sg["detail-type"] == ["AWS API Call via CloudTrail"]
    assert sorted(sg["detail"]["eventName"]) == sorted(
        [
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ]
    )
    sign_in = rules["lecture-dhbw-console-sign-in-failure"]["EventPattern"]
    assert sign_in["source"] == ["aws.signin"] and sign_in["detail-type"] == ["AWS Console Sign In via CloudTrail"]
    assert sign_in["detail"] == {
        "eventSource": ["signin.amazonaws.com"],
        "eventName": ["ConsoleLogin"],
        "responseElements": {"ConsoleLogin": ["Failure"]},
    }
    # the mode switch: the same calls the mode-change notice watches, on this customer's parameter only
    mode = rules["lecture-dhbw-mode-switch-change"]["EventPattern"]
    notice = rules["lecture-dhbw-mode-changes"]["EventPattern"]
    assert mode["detail"] == notice["detail"] and mode["source"] == notice["source"] == ["aws.ssm"]
    names = {n for alt in mode["detail"]["$or"] for n in next(iter(alt["requestParameters"].values()))}
    assert names == {
        "/lecture/dhbw/remediation/mode",
        "arn:aws:ssm:eu-central-1:111111111111:parameter/lecture/dhbw/remediation/mode",
    }
