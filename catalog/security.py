"""Security events: the CloudTrail events that page the security team (the runbook's security monitoring).

Each kind is declared once here. The stack derives one EventBridge rule per kind from ``pattern``
(stacks/security_events.py); admit classifies a delivered event with ``matches`` (lambdas/logic/security.py).
Both read the same fields, so what the rule lets through is what admit recognises. They make no automatic
change: a person judges them. A burst of one kind within ``burst_window_minutes`` is one page.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog import naming
from catalog.customer import CustomerConfig
from catalog.severity import Severity

API_CALL = "AWS API Call via CloudTrail"
CONSOLE_SIGN_IN = "AWS Console Sign In via CloudTrail"

# SSM calls that change or remove the mode switch: the one-parameter calls name it in requestParameters.name,
# DeleteParameters in requestParameters.names. The mode-change notice (stacks/mode_watch.py) watches the same.
MODE_SWITCH_CHANGES_ONE: tuple[str, ...] = ("PutParameter", "DeleteParameter", "LabelParameterVersion", "UnlabelParameterVersion")
MODE_SWITCH_CHANGES_MANY: tuple[str, ...] = ("DeleteParameters",)


def mode_switch_names(config: CustomerConfig) -> list[str]:
    """The mode switch as a caller may name it: by name or by ARN."""
    parameter = naming.mode_parameter_name(config.customer)
    return [parameter, f"arn:aws:ssm:{config.region}:{config.account}:parameter{parameter}"]


class SecurityEventKind(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,23}$")  # in the rule name: lecture-<c>-<name>, <= 64 chars
    title: str
    impact: str
    source: str  # the EventBridge source, e.g. aws.ec2
    detail_type: str
    event_source: str  # CloudTrail's eventSource, e.g. ec2.amazonaws.com
    event_names: tuple[str, ...] = Field(min_length=1)
    # further fields the event must carry, as an EventBridge pattern on ``detail`` (literal values only)
    detail_match: dict[str, Any] = Field(default_factory=dict)
    on_mode_switch: bool = False  # only calls on this customer's mode switch
    on_table: bool = False  # only calls on this customer's automation table (requestParameters.resourceArn)
    severity: Severity = Severity.P1
    team: str = "security"
    burst_window_minutes: int = Field(default=10, ge=1, le=1440)

    def rule_name(self, customer: str) -> str:
        return naming.rule_name(customer, self.name)

    def pattern_detail(self, config: CustomerConfig) -> dict[str, Any]:
        """The rule's ``detail`` pattern for this customer."""
        detail: dict[str, Any] = {"eventSource": [self.event_source], **self.detail_match}
        if self.on_table:
            table = naming.table_arn(config.customer, config.region, config.account)
            return {**detail, "eventName": list(self.event_names), "requestParameters": {"resourceArn": [table]}}
        if not self.on_mode_switch:
            return {**detail, "eventName": list(self.event_names)}
        names = mode_switch_names(config)
        one = [e for e in self.event_names if e not in MODE_SWITCH_CHANGES_MANY]
        many = [e for e in self.event_names if e in MODE_SWITCH_CHANGES_MANY]
        return {
            **detail,
            "$or": [
                {"eventName": one, "requestParameters": {"name": names}},
                {"eventName": many, "requestParameters": {"names": names}},
            ],
        }

    def matches(self, source: str, detail_type: str, detail: dict[str, Any], config: CustomerConfig) -> bool:
        """Whether a delivered event (its source, detail-type and detail) is one of this kind, as the rule
        decides it."""
        if (
            (source, detail_type) != (self.source, self.detail_type)
            or detail.get("eventSource") != self.event_source
            or detail.get("eventName") not in self.event_names
        ):
            return False
        if not _contains(detail, self.detail_match):
            return False
        if self.on_table:
            request = detail.get("requestParameters") or {}
            return request.get("resourceArn") == naming.table_arn(config.customer, config.region, config.account)
        if self.on_mode_switch:
            request = detail.get("requestParameters") or {}
            names = mode_switch_names(config)
            given = request.get("names") if detail["eventName"] in MODE_SWITCH_CHANGES_MANY else [request.get("name")]
            return isinstance(given, list) and any(n in names for n in given)
        return True


def _contains(value: Any, pattern: dict[str, Any]) -> bool:
    """An EventBridge pattern of literal values: every key present, its value one of the listed."""
    for key, want in pattern.items():
        got = value.get(key) if isinstance(value, dict) else None
        if isinstance(want, dict):
            if not _contains(got, want):
                return False
        elif got not in want:
            return False
    return True


SECURITY_EVENTS: dict[str, SecurityEventKind] = {
    k.name: k
    for k in (
        SecurityEventKind(
            name="security-group-change",
            title="Security-group change",
            impact="a security group of the customer's account changed: network exposure may have changed",
            source="aws.ec2",
            detail_type=API_CALL,
            event_source="ec2.amazonaws.com",
            event_names=(
                "AuthorizeSecurityGroupIngress",
                "AuthorizeSecurityGroupEgress",
                "RevokeSecurityGroupIngress",
                "RevokeSecurityGroupEgress",
                "CreateSecurityGroup",
                "DeleteSecurityGroup",
            ),
        ),
        SecurityEventKind(
            name="console-sign-in-failure",
            title="Failed console sign-in",
            impact="someone failed to sign in to the customer's AWS console",
            source="aws.signin",
            detail_type=CONSOLE_SIGN_IN,
            event_source="signin.amazonaws.com",
            event_names=("ConsoleLogin",),
            detail_match={"responseElements": {"ConsoleLogin": ["Failure"]}},
        ),
        SecurityEventKind(
            name="mode-switch-change",
            title="Remediation mode switch changed",
            impact="the automation's own mode switch changed: what it may do for the customer changed",
            source="aws.ssm",
            detail_type=API_CALL,
            event_source="ssm.amazonaws.com",
            event_names=MODE_SWITCH_CHANGES_ONE + MODE_SWITCH_CHANGES_MANY,
            on_mode_switch=True,
        ),
        SecurityEventKind(
            name="table-policy-change",
            title="Automation table's resource policy changed",
            impact=(
                "the resource policy that keeps the audit trail append-only and the verified answers the answer "
                "function's own was changed or removed (docs/audit.md: the break-glass path)"
            ),
            source="aws.dynamodb",
            detail_type=API_CALL,
            event_source="dynamodb.amazonaws.com",
            event_names=("PutResourcePolicy", "DeleteResourcePolicy"),
            on_table=True,
        ),
    )
}

# The detail-types admit reads as CloudTrail events (any other source is an alarm or a schedule).
DETAIL_TYPES: frozenset[str] = frozenset(k.detail_type for k in SECURITY_EVENTS.values())
