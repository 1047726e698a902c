"""The ops account's configuration (customers/ops.yaml): where the fleet's incidents meet and when they are a P0.

The customer accounts are not listed here: they are the customer files' (declared once), and the loader
(customers.load_ops) checks this file against them.
"""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from catalog.customer import PAGERDUTY_EVENTS_URLS, pagerduty_url_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpsPagingConfig(_Strict):
    """The P0 page: the PagerDuty service the fleet's P0 goes to, and its routing key's secret (the stack never
    holds the key; operators put it into Secrets Manager under this name)."""

    pagerduty_service: str = Field(min_length=1, max_length=255)
    pagerduty_secret_name: str = Field(default="lecture/ops/pagerduty-routing-key", min_length=1, max_length=512)
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URLS[0]
    on_call_contact: str = "Incident commander (see the PagerDuty P0 rotation)"

    @field_validator("pagerduty_events_url")
    @classmethod
    def _pagerduty_only(cls, url: str) -> str:
        problem = pagerduty_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url


class CorrelationConfig(_Strict):
    """P0 by correlation: at least ``min_customers`` customers with an open "down" incident (catalog.alarms
    AlarmKind.down) that went down within ``window_minutes`` of the newest; resolved when fewer than
    ``min_customers`` stay down for ``recover_minutes``."""

    min_customers: int = Field(default=2, ge=2, le=100)
    window_minutes: int = Field(default=10, ge=1, le=1440)
    recover_minutes: int = Field(default=15, ge=1, le=1440)


class ObservabilityConfig(_Strict):
    """CloudWatch cross-account observability: the ops stack's OAM sink (its output OamSinkArn, known after its first
    deploy: the sink's id is AWS's). Each customer stack links to it; empty: no links yet."""

    sink_arn: str = Field(default="", pattern=r"^(arn:aws[a-z-]*:oam:[a-z]{2}(-[a-z]+)+-\d:\d{12}:sink/[A-Za-z0-9-]+)?$")


class OpsConfig(_Strict):
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    aws_profile: str = "lecture-ops"
    paging: OpsPagingConfig
    correlation: CorrelationConfig = CorrelationConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    # account -> customer, from the customer files (customers.load_ops fills it; a file that names it is refused)
    customers: dict[str, str] = Field(default_factory=dict)

    @property
    def customer(self) -> str:
        """The ops account's name where a customer's would be (its stack lecture-ops-remediation, its profile)."""
        return "ops"

    def customer_of(self, account: str) -> str | None:
        return self.customers.get(account)

    @property
    def customer_accounts(self) -> list[str]:
        return sorted(self.customers)
