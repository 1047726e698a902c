"""SNS status updates in the runbook's "Status Update Template" shape."""

from datetime import datetime, timedelta
from typing import Any

from catalog import naming

SUBJECT_MAX = 100  # SNS limit


def subject(incident_id: str) -> str:
    text = naming.status_update_subject(incident_id)
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


def message(
    *,
    incident_id: str,
    status: str,
    impact: str,
    identified_at: str,
    customers: list[str],
    actions: str,
    eta: str,
    contact: str,
    now: datetime,
    next_update_minutes: int | None = 30,
) -> str:
    next_update = (
        (now + timedelta(minutes=next_update_minutes)).strftime("%Y-%m-%d %H:%M UTC")
        if next_update_minutes
        else "none planned (resolved)"
    )
    return "\n".join(
        [
            f"Subject: {subject(incident_id)}",
            "",
            f"Current Status: {status}",
            f"Impact: {impact}",
            f"Next Update: {next_update}",
            "",
            "Details:",
            f"- Issue identified at: {identified_at}",
            f"- Affected customers: {', '.join(customers)}",
            f"- Current actions: {actions}",
            f"- ETA: {eta}",
            "",
            f"Contact: {contact}",
        ]
    )


def attributes(**values: str) -> dict[str, dict[str, str]]:
    """SNS message attributes subscribers can filter on (customer, severity, status, team, kind); empty values
    are left out (SNS refuses an empty String attribute)."""
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def publish(sns: Any, topic_arn: str, incident_id: str, text: str, attributes: dict[str, dict[str, str]] | None = None) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Subject=subject(incident_id),
        Message=text,
        **({"MessageAttributes": attributes} if attributes else {}),
    )
