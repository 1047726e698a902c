"""The customer configuration model: one file per customer in customers/, validated here.

Defaults follow the runbook's names, so a customer file only states what differs.
"""

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from catalog.alarms import alarm_kind_keys
from catalog.severity import Severity

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
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class EcsServiceConfig(_Strict):
    name: str = Field(min_length=1, max_length=255)
    min_tasks: int = Field(ge=0)
    max_tasks: int = Field(ge=1)
    cooldown_seconds: int = Field(default=300, ge=0, le=86400)
    # the service's log group, whose last lines travel with a page; default /ecs/<service> (the runbook's awslogs)
    log_group: str = Field(default="", max_length=512)

    @model_validator(mode="before")
    @classmethod
    def _log_group_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("name"), str) and not data.get("log_group"):
            data = {**data, "log_group": f"/ecs/{data['name']}"}
        return data

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


class RdsConfig(_Strict):
    """The customer's Aurora PostgreSQL cluster and its snapshots."""

    cluster: str = Field(default="", max_length=63)  # default: lecture-<c>-cluster, the runbook's name
    # the cluster's DB subnet group: a restore may join only this one (IAM subgrp:<name>), and act refuses when the
    # original is in another; empty: whichever the original is in (IAM subgrp:*)
    subnet_group: str = Field(default="", max_length=255, pattern=r"^([A-Za-z0-9._ -]*)$")
    snapshot_retention_days: int = Field(default=7, ge=1, le=35)
    snapshot_on_alarm_cooldown_minutes: int = Field(default=360, ge=0, le=10080)


class TerraformConfig(_Strict):
    """The customer's Terraform S3 backend, its backups and its lock table."""

    state_bucket: str = Field(min_length=3, max_length=63)  # the backend's bucket: no convention, always given
    state_key: str = Field(default="", max_length=1024)  # default: lecture-<c>/terraform.tfstate
    # Global name, shared by every customer and possibly in another account: writes never rely on ACLs.
    backup_bucket: str = Field(default="terraform-state-backup", min_length=3, max_length=63)
    backup_prefix: str = Field(default="", max_length=256)  # default: lecture-<c>/
    lock_table: str = Field(default="terraform-state-lock", min_length=3, max_length=255)
    stale_lock_minutes: int = Field(default=120, ge=5, le=10080)

    @property
    def lock_path(self) -> str:
        """The LockID Terraform's S3 backend uses for the customer's state: <bucket>/<key>."""
        return f"{self.state_bucket}/{self.state_key}"


DailyTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, UTC")]
# "<day of the month 1-28> HH:MM", UTC: the 28th at most, so it runs in every month
MonthlyTime = Annotated[str, Field(pattern=r"^([1-9]|1\d|2[0-8]) ([01]\d|2[0-3]):[0-5]\d$", description="<day 1-28> HH:MM, UTC")]


class SchedulesConfig(_Strict):
    """When the data-protection runbooks run by themselves; null switches one off."""

    rds_snapshot: DailyTime | None = "02:00"  # daily, UTC
    state_backup: DailyTime | None = "02:30"  # daily, UTC
    lock_check_minutes: int | None = Field(default=15, ge=1, le=1440)  # every N minutes
    # restore-drill (the runbook's monthly "test backup and recovery procedures"): off unless the customer file
    # asks for it, since each drill restores a whole cluster for a while (cost)
    restore_drill: MonthlyTime | None = None
    # health-check: daily at this time, e.g. "06:00" before the day's lectures; its summary goes to the status
    # topic (so, off unless asked for: a daily message to every subscriber is the customer's choice)
    health_check: DailyTime | None = None


class MaintenanceConfig(_Strict):
    """The maintenance-window runbook: how long a window may stay open at most (the end of an "until done" window),
    and how a window booked ahead (``at``) is announced: the runbook's "Notify customers 48 hours in advance"."""

    max_minutes: int = Field(default=240, ge=1, le=1440)
    min_notice_hours: int = Field(default=48, ge=0, le=24 * 90)  # a booking at least this far ahead
    max_ahead_days: int = Field(default=30, ge=1, le=90)  # and at most this far (the execution waits until then)
    reminder_minutes: int = Field(default=60, ge=1, le=24 * 60)  # the reminder, this long before it opens

    @model_validator(mode="after")
    def _bookable(self) -> "MaintenanceConfig":
        if self.min_notice_hours > self.max_ahead_days * 24:
            raise ValueError(
                f"min_notice_hours {self.min_notice_hours} is beyond max_ahead_days {self.max_ahead_days}: no time "
                "could be booked"
            )
        return self


class ApiConfig(_Strict):
    """The customer's API Gateway REST API: its 5xx and latency alarms exist only when it is named."""

    name: str = Field(min_length=1, max_length=1024)  # the ApiName dimension
    stage: str = Field(default="prod", min_length=1, max_length=128)


class CdnConfig(_Strict):
    """The customer's CloudFront distribution. Its metrics exist only in us-east-1 (dimension Region=Global):
    its alarms are created only by a stack in us-east-1 (see README, "What is watched")."""

    distribution_id: str = Field(pattern=r"^[A-Z0-9]{8,32}$")


class TeamConfig(_Strict):
    """A team that is paged: its PagerDuty routing key, which operators put into Secrets Manager under this name."""

    secret: str = Field(min_length=1, max_length=512)


# Every customer has these two teams; a customer file may give them other secrets and add more.
DEFAULT_TEAMS: tuple[str, ...] = ("infrastructure", "security")
TeamName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")]


ApproverPattern = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*?-]+$", max_length=512)]


class ApprovalsConfig(_Strict):
    """Who may approve, how many must, and how long a runbook that needs approval waits for an answer (no answer in
    time is a rejection), like SSM Automation's aws:approve: ``approvers`` are IAM principal ARN patterns (a role
    pattern also names its sessions), ``min_approvals`` of them must approve, the requester never counts."""

    timeout_minutes: int = Field(default=30, ge=1, le=1440)
    approvers: tuple[ApproverPattern, ...] = ()
    min_approvals: int = Field(default=1, ge=1, le=5)


class AuditExportConfig(_Strict):
    """The audit trail's daily export to S3 with Object Lock in compliance mode (docs/audit.md): the day's rows with
    their digests, kept ``retention_days`` from each write; nobody, the account's root user included, can delete or
    shorten that. Exported at ``time`` (UTC), the day before."""

    retention_days: int = Field(default=400, ge=1, le=3650)
    time: DailyTime = "03:00"


class LambdaTuningConfig(_Strict):
    """Bounds of tune-lambda (the runbook's "Managing Lambda functions"): it never sets a value outside them."""

    min_memory_mb: int = Field(default=128, ge=128, le=10240)
    max_memory_mb: int = Field(default=2048, ge=128, le=10240)
    min_timeout_seconds: int = Field(default=3, ge=1, le=900)
    max_timeout_seconds: int = Field(default=120, ge=1, le=900)

    @model_validator(mode="after")
    def _ordered(self) -> "LambdaTuningConfig":
        if self.min_memory_mb > self.max_memory_mb:
            raise ValueError(f"min_memory_mb {self.min_memory_mb} is above max_memory_mb {self.max_memory_mb}")
        if self.min_timeout_seconds > self.max_timeout_seconds:
            raise ValueError(
                f"min_timeout_seconds {self.min_timeout_seconds} is above max_timeout_seconds {self.max_timeout_seconds}"
            )
        return self


class PagingConfig(_Strict):
    # Operators put the routing key into Secrets Manager under this name; the stack never holds it.
    # The infrastructure team's key (paging.teams.infrastructure.secret defaults to it).
    pagerduty_secret_name: str = ""
    teams: dict[TeamName, TeamConfig] = Field(default_factory=dict)
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URLS[0]  # the EU service region: PAGERDUTY_EVENTS_URLS[1]
    on_call_contact: str = "On-call engineer (see the PagerDuty rotation)"
    status_update_emails: tuple[str, ...] = ()
    # How long after a runbook succeeded respond looks at the alarm again: still in ALARM -> the page is escalated
    # one step (P2 -> P1) on the same alert. null: no re-check.
    recheck_minutes: int | None = Field(default=15, ge=1, le=720)

    @field_validator("pagerduty_events_url")
    @classmethod
    def _pagerduty_only(cls, url: str) -> str:
        problem = pagerduty_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url

    @model_validator(mode="after")
    def _default_teams(self) -> "PagingConfig":
        missing = [t for t in DEFAULT_TEAMS if t not in self.teams]
        if missing:
            raise ValueError(f"paging.teams lacks {', '.join(missing)}; every customer pages {' and '.join(DEFAULT_TEAMS)}")
        return self

    def team_secret(self, team: str) -> str:
        if team not in self.teams:
            raise KeyError(f"team {team!r} is not in paging.teams; known: {', '.join(self.teams)}")
        return self.teams[team].secret


class CustomerConfig(_Strict):
    customer: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    mode: Mode = "enforce"
    aws_profile: str = ""
    ecs: EcsConfig
    rds: RdsConfig = Field(default_factory=RdsConfig)
    terraform: TerraformConfig
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    content_bucket: str = ""
    function: str = ""  # the customer's Lambda function (default lecture-<c>-function)
    # its configured timeout: the duration alarm fires near it (the runbook's update-function-configuration: 30)
    function_timeout_seconds: int = Field(default=30, ge=1, le=900)
    api: ApiConfig | None = None
    cdn: CdnConfig | None = None
    paging: PagingConfig
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    audit_export: AuditExportConfig = Field(default_factory=AuditExportConfig)
    lambda_tuning: LambdaTuningConfig = Field(default_factory=LambdaTuningConfig)
    # Per alarm kind, "<resource kind>/<condition>" -> P0..P3, overriding the alarm kind's default severity.
    severities: dict[str, Severity] = Field(default_factory=dict)
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
            ("rds", "cluster", f"lecture-{c}-cluster"),
            ("terraform", "state_key", f"lecture-{c}/terraform.tfstate"),
            ("terraform", "backup_prefix", f"lecture-{c}/"),
            ("paging", "pagerduty_secret_name", f"lecture/{c}/pagerduty-routing-key"),
        ):
            part = data.get(section)
            part = dict(part) if isinstance(part, dict) else ({} if part is None else part)
            if isinstance(part, dict):
                part.setdefault(key, value)
            data[section] = part
        paging = data["paging"]
        if isinstance(paging, dict):
            teams = paging.get("teams")
            teams = dict(teams) if isinstance(teams, dict) else ({} if teams is None else teams)
            if isinstance(teams, dict):
                teams.setdefault("infrastructure", {"secret": paging.get("pagerduty_secret_name")})
                teams.setdefault("security", {"secret": f"lecture/{c}/pagerduty-security-routing-key"})
            data["paging"] = {**paging, "teams": teams}
        return data

    @field_validator("severities")
    @classmethod
    def _known_alarm_kinds(cls, severities: dict[str, Severity]) -> dict[str, Severity]:
        known = alarm_kind_keys()
        unknown = sorted(k for k in severities if k not in known)
        if unknown:
            raise ValueError(f"severities names unknown alarm kinds: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return severities

    def severity_of(self, kind: str, condition: str, default: Severity) -> Severity:
        """An alarm kind's severity for this customer: the customer file's override, else the kind's default."""
        return self.severities.get(f"{kind}/{condition}", default)

    def service(self, name: str) -> EcsServiceConfig:
        for s in self.ecs.services:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.ecs.services)
        raise KeyError(f"service {name!r} is not configured for customer {self.customer} (configured: {known})")
