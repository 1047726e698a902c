"""Issue 7 on the template: the status update emails are subscribed; a team added in the customer file gets
its routing key read, and only by the paging functions."""

import aws_cdk as cdk
from aws_cdk.assertions import Template

import app as cdk_app
from catalog import CustomerConfig
from customers import load_customer
from stacks.remediation_stack import RemediationStack


def _template(**paging) -> Template:
    dhbw = load_customer("dhbw").model_dump(mode="json")
    config = CustomerConfig.model_validate({**dhbw, "paging": {**dhbw["paging"], **paging}})
    return Template.from_stack(RemediationStack(cdk.App(context=cdk_app.feature_flags()), config=config))


def test_status_update_emails_are_subscribed_to_the_status_topic_by_email():
    template = _template(status_update_emails=["oncall@example.org", "lead@example.org"])
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    [topic] = template.find_resources("AWS::SNS::Topic")
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"], s["Properties"]["TopicArn"]["Ref"])
        for s in subscriptions.values()
    ) == [("email", "lead@example.org", topic), ("email", "oncall@example.org", topic)]


def test_no_emails_no_subscription():
    assert _template().find_resources("AWS::SNS::Subscription") == {}


def test_an_added_team_is_readable_by_the_paging_functions_only():
    template = _template(teams={"database": {"secret": "lecture/dhbw/pagerduty-dba-routing-key"}})
    readers = {
        name for name, policy in template.find_resources("AWS::IAM::Policy").items() if "pagerduty-dba-routing-key" in str(policy)
    }
    # page and record, and maintenance-window (its start and end change events)
    assert len(readers) == 3
    assert all(
        r.startswith(("RespondPageFunctionRole", "RespondRecordFunctionRole", "RunbookmaintenancewindowFunctionRole"))
        for r in readers
    )
