"""The runbook's incident classification and escalation matrix."""

from enum import StrEnum


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def description(self) -> str:
        return _INFO[self][0]

    @property
    def response_time(self) -> str:
        return _INFO[self][1]

    @property
    def escalation(self) -> str:
        return _INFO[self][2]

    @property
    def escalated(self) -> "Severity":
        """One step up the matrix (P2 -> P1); P0 stays P0."""
        order = list(Severity)
        return order[max(order.index(self) - 1, 0)]

    @property
    def pagerduty_severity(self) -> str:
        """PagerDuty Events v2 payload.severity for this priority."""
        return _INFO[self][3]


_INFO = {
    Severity.P0: ("Complete service outage", "15 minutes", "Phone + Slack", "critical"),
    Severity.P1: ("Major functionality impacted", "1 hour", "Slack + Email", "error"),
    Severity.P2: ("Minor functionality impacted", "4 hours", "Slack", "warning"),
    Severity.P3: ("Cosmetic or minor issues", "Next business day", "Email", "info"),
}
