"""The customer configuration model: one file per customer in customers/, validated here.

Defaults follow the runbook's names, so a customer file only states what differs.
"""

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The modes, declared once, from the loosest to the strictest: enforce acts; dry-run reports what it
# would do and changes nothing; off pages only. A run always takes the strictest mode that applies.
Mode = Literal["enforce", "dry-run", "off"]
MODES: tuple[Mode, ...] = get_args(Mode)

# PagerDuty's own Events API v2 endpoints (US and EU service regions): the only hosts the routing key
# may be sent to. Checked when a customer file is loaded (synth) and again by the Lambda before it reads the key.
PAGERDUTY_EVENTS_URLS: tuple[str, ...] = (
    "https://events.pagerduty.com/v2/enqueue",
    "https://events.eu.pagerduty.com/v2/enqueue",
)


def pagerduty_url_problem(url: str) -> str | None:
    """None if url is one of PagerDuty's endpoints, else a sentence that says what is allowed."""
    if url in PAGERDUTY_EVENTS_URLS:
        return None
    return f"{url!r} is not a PagerDuty Events API endpoint; allowed: {', '.join(PAGERDUTY_EVENTS_URLS)}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EcsServiceConfig(_Strict):
    name: str = Field(min_length=1, max_length=255)
    min_tasks: int = Field(ge=0)
    max_tasks: int = Field(ge=1)
    cooldown_seconds: int = Field(default=300, ge=0, le=86400)

    @model_validator(mode="after")
    def _bounds(self) -> "EcsServiceConfig":
        if self.min_tasks > self.max_tasks:
            raise ValueError(f"min_tasks {self.min_tasks} is above max_tasks {self.max_tasks}")
        return self


class EcsConfig(_Strict):
    cluster: str = ""
    services: tuple[EcsServiceConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "EcsConfig":
        names = [s.name for s in self.services]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"service listed twice: {', '.join(duplicates)}")
        return self


class AuroraConfig(_Strict):
    cluster: str = ""


class StateConfig(_Strict):
    backup_bucket: str = "terraform-state-backup"
    prefix: str = ""
    lock_table: str = "terraform-state-lock"


class PagingConfig(_Strict):
    # Operators put the routing key into Secrets Manager under this name; the stack never holds it.
    pagerduty_secret_name: str = ""
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URLS[0]  # the EU service region: PAGERDUTY_EVENTS_URLS[1]
    on_call_contact: str = "On-call engineer (see the PagerDuty rotation)"
    status_update_emails: tuple[str, ...] = ()

    @field_validator("pagerduty_events_url")
    @classmethod
    def _pagerduty_only(cls, url: str) -> str:
        problem = pagerduty_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url


class CustomerConfig(_Strict):
    customer: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    mode: Mode = "enforce"
    aws_profile: str = ""
    ecs: EcsConfig
    aurora: AuroraConfig = AuroraConfig()
    content_bucket: str = ""
    state: StateConfig = StateConfig()
    function: str = ""
    paging: PagingConfig = PagingConfig()
    powertools_layer_version: int = Field(default=27, ge=1)
    # Reserved concurrency of each function, so a storm elsewhere in the account cannot starve the
    # remediation. 0 or null: off (an account with a low concurrency quota rejects it at deploy time).
    lambda_reserved_concurrency: int | None = Field(default=2, ge=0, le=100)

    @model_validator(mode="before")
    @classmethod
    def _runbook_defaults(cls, data: Any) -> Any:
        """Fill the runbook's naming conventions (lecture-<c>-cluster, content-<c>-prod, ...)."""
        if not isinstance(data, dict) or not isinstance(data.get("customer"), str):
            return data
        c = data["customer"]
        data = dict(data)
        data.setdefault("aws_profile", f"lecture-{c}-prod")
        data.setdefault("content_bucket", f"content-{c}-prod")
        data.setdefault("function", f"lecture-{c}-function")
        for section, key, value in (
            ("ecs", "cluster", f"lecture-{c}-cluster"),
            ("aurora", "cluster", f"lecture-{c}-cluster"),
            ("state", "prefix", f"lecture-{c}/"),
            ("paging", "pagerduty_secret_name", f"lecture/{c}/pagerduty-routing-key"),
        ):
            part = data.get(section)
            part = dict(part) if isinstance(part, dict) else ({} if part is None else part)
            if isinstance(part, dict):
                part.setdefault(key, value)
            data[section] = part
        return data

    def service(self, name: str) -> EcsServiceConfig:
        for s in self.ecs.services:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.ecs.services)
        raise KeyError(f"service {name!r} is not configured for customer {self.customer} (configured: {known})")


