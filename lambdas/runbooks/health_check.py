"""Runbook health-check: the runbook's health check across one customer's resources, read-only.

guard   every check (ECS services, the RDS cluster, the content bucket, the Terraform lock, the mode switch,
        open maintenance windows) -> pass | warn | fail each; the summary goes to the status topic and is the
        outcome: healthy (all pass), degraded (warns), unhealthy (a fail: kind failed, paged through respond)
(no act, no verify: it changes nothing)
"""

from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import Field

from catalog import CustomerConfig, naming, runbook
from catalog.runbooks.health_check import HealthCheckInput
from lambdas import aws
from lambdas.errors import InvalidInput
from lambdas.logic import status_update
from lambdas.logic.mode import read_mode
from lambdas.logic.state_locks import find_locks, parse_created, unreadable
from lambdas.models.steps import PlanBase, StepModel
from lambdas.runbooks import kit
from lambdas.settings import Settings

RUNBOOK = runbook("health-check")


class HealthCheckItem(StepModel):
    name: str  # ecs:<service>, rds:<cluster>, content_bucket, state_lock, mode, window:<service>
    status: Literal["pass", "warn", "fail"]
    detail: str


class HealthReport(PlanBase):
    """health-check's answer; everything happens in guard (proceed is always false)."""

    checked_at: str
    trigger: Literal["manual", "alarm", "schedule"] = "manual"
    checks: list[HealthCheckItem] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # pass / warn / fail
    published: bool = False  # the summary went to the status topic


# cluster statuses that mean the database is not serving (the rest but available: busy, warn)
RDS_FAIL = (
    "failed",
    "inaccessible-encryption-credentials",
    "incompatible-parameters",
    "incompatible-restore",
    "incompatible-network",
    "stopped",
    "stopping",
    "deleting",
    "storage-full",
)


def check_services(ecs: Any, config: CustomerConfig) -> list[HealthCheckItem]:
    """Running against desired, and failed deployments / tasks of the current deployment."""
    names = [s.name for s in config.ecs.services]
    found = {s["serviceName"]: s for s in ecs.describe_services(cluster=config.ecs.cluster, services=names).get("services", [])}
    items = []
    for name in names:
        svc = found.get(name)
        if svc is None:
            items.append(
                HealthCheckItem(
                    name=f"ecs:{name}", status="fail", detail=f"service {name} not found in cluster {config.ecs.cluster}"
                )
            )
            continue
        running, desired = int(svc.get("runningCount", 0)), int(svc.get("desiredCount", 0))
        problems, status = [], "pass"
        if running < desired:
            status = "fail" if running == 0 else "warn"
            problems.append(f"running {running} of {desired} desired")
        failed_rollouts = [d for d in svc.get("deployments", []) if d.get("rolloutState") == "FAILED"]
        if failed_rollouts:
            status = "fail"
            problems.append(
                f"deployment {failed_rollouts[0].get('id')} FAILED: "
                f"{str(failed_rollouts[0].get('rolloutStateReason') or '')[:200]}"
            )
        failed_tasks = sum(int(d.get("failedTasks") or 0) for d in svc.get("deployments", []))
        if failed_tasks:
            status = "fail" if status == "fail" else "warn"
            problems.append(f"{failed_tasks} task(s) failed to start in the current deployments")
        detail = "; ".join(problems) or f"running {running} of {desired} desired"
        items.append(HealthCheckItem(name=f"ecs:{name}", status=status, detail=detail))
    return items


def check_cluster(rds: Any, config: CustomerConfig) -> HealthCheckItem:
    name = f"rds:{config.rds.cluster}"
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=config.rds.cluster).get("DBClusters", [])
    except ClientError as exc:
        if aws.error_code(exc) != "DBClusterNotFoundFault":
            raise
        found = []
    if not found:
        return HealthCheckItem(name=name, status="fail", detail=f"cluster {config.rds.cluster} does not exist")
    status = str(found[0].get("Status"))
    if status == "available":
        return HealthCheckItem(name=name, status="pass", detail="available")
    return HealthCheckItem(name=name, status="fail" if status in RDS_FAIL else "warn", detail=f"status {status}")


def check_bucket(s3: Any, config: CustomerConfig) -> HealthCheckItem:
    bucket = config.content_bucket
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = aws.error_code(exc)
        why = {"404": "does not exist", "NoSuchBucket": "does not exist", "403": "is not reachable (403: access denied)"}.get(
            code, f"is not reachable ({code})"
        )
        return HealthCheckItem(name="content_bucket", status="fail", detail=f"s3://{bucket} {why}")
    return HealthCheckItem(name="content_bucket", status="pass", detail=f"s3://{bucket} reachable")


def check_lock(dynamodb: Any, s3: Any, config: CustomerConfig, now: datetime) -> HealthCheckItem:
    tf = config.terraform
    notes: list[str] = []
    try:
        locks = find_locks(
            dynamodb,
            s3,
            table=tf.lock_table,
            bucket=tf.state_bucket,
            key=tf.state_key,
            now=now,
            stale_after_minutes=tf.stale_lock_minutes,
            notes=notes,
        )
    except ClientError as exc:  # read-only: a missing or unreadable state bucket is this check's fail, not a crash
        return HealthCheckItem(
            name="state_lock",
            status="fail",
            detail=(
                f"cannot tell whether {tf.state_bucket}/{tf.state_key} is locked: "
                f"{unreadable(exc, table=tf.lock_table, bucket=tf.state_bucket)}"
            ),
        )
    stale = [lk for lk in locks if lk.stale]
    if stale:
        lk = stale[0]
        return HealthCheckItem(
            name="state_lock",
            status="warn",
            detail=(
                f"stale {lk.kind} lock {lk.id} held by {lk.who or 'unknown'} ({lk.operation or 'unknown operation'}) "
                f"since {lk.created}, {lk.age_minutes} min (stale after {tf.stale_lock_minutes}); deploys are blocked"
            ),
        )
    if locks:
        lk = locks[0]
        return HealthCheckItem(
            name="state_lock",
            status="pass",
            detail=(f"{lk.kind} lock {lk.id or '(unreadable)'} held by {lk.who or 'unknown'}: a Terraform run is going on"),
        )
    return HealthCheckItem(name="state_lock", status="pass", detail="no lock held" + (f" ({'; '.join(notes)})" if notes else ""))


def check_mode(ssm: Any, parameter: str) -> HealthCheckItem:
    mode, note = read_mode(ssm, parameter)
    if mode == "enforce" and not note:
        return HealthCheckItem(name="mode", status="pass", detail="enforce")
    detail = {
        "dry-run": "dry-run: runbooks report and change nothing",
        "off": "off: alarms page only, nothing is remediated",
    }.get(mode, mode)
    return HealthCheckItem(name="mode", status="warn", detail=detail + (f" ({note})" if note else ""))


def check_windows(table: Any, config: CustomerConfig, now: datetime) -> list[HealthCheckItem]:
    """An open maintenance window per service (pk window#<service>, sk open): alarms page at P3 meanwhile."""
    items = []
    for s in config.ecs.services:
        item = table.get_item(Key={"pk": naming.window_key(s.name), "sk": "open"}, ConsistentRead=True).get("Item")
        name = f"window:{s.name}"
        if not item:
            items.append(HealthCheckItem(name=name, status="pass", detail="no maintenance window open"))
            continue
        expires = parse_created(str(item.get("expires") or ""))
        if expires is not None and expires <= now:
            items.append(
                HealthCheckItem(
                    name=name,
                    status="pass",
                    detail=(
                        f"no maintenance window open (the one of execution {item.get('execution')} expired at "
                        f"{item.get('expires')})"
                    ),
                )
            )
            continue
        items.append(
            HealthCheckItem(
                name=name,
                status="warn",
                detail=(
                    f"maintenance window open since {item.get('opened')} until {item.get('expires')} (execution "
                    f"{item.get('execution')}): its alarms page at P3 and remediate nothing"
                ),
            )
        )
    return items


def summary_text(report: HealthReport) -> str:
    lines = [f"{c.status.upper():4} {c.name}: {c.detail}" for c in report.checks]
    return "\n".join(lines)


def run_checks(
    inp: HealthCheckInput, *, settings: Settings, clients: Any, table: Any, now: datetime, execution: str
) -> HealthReport:
    config = settings.customer
    if inp.cluster is not None and inp.cluster != config.rds.cluster:
        raise InvalidInput(
            f"cluster {inp.cluster!r} is not customer {config.customer}'s cluster (configured: {config.rds.cluster!r})"
        )
    incident = inp.incident_id or f"{config.customer}-health-check-{now.astimezone(UTC):%Y%m%dT%H%M%S}Z"
    report = HealthReport(
        runbook=RUNBOOK.name,
        customer=config.customer,
        checked_at=now.isoformat(),
        incident_id=incident,
        reason=inp.reason,
        trigger=inp.trigger,
        proceed=False,
    )
    report.checks += check_services(clients("ecs"), config)
    report.checks.append(check_cluster(clients("rds"), config))
    report.checks.append(check_bucket(clients("s3"), config))
    report.checks.append(check_lock(clients("dynamodb"), clients("s3"), config, now))
    report.checks.append(check_mode(clients("ssm"), settings.mode_parameter))
    report.checks += check_windows(table, config, now)
    report.counts = {s: sum(c.status == s for c in report.checks) for s in ("pass", "warn", "fail")}
    if report.counts["fail"]:
        report.outcome = "unhealthy"
    elif report.counts["warn"]:
        report.outcome = "degraded"
    else:
        report.outcome = "healthy"
    bad = [f"{c.name} {c.status}: {c.detail}" for c in report.checks if c.status != "pass"]
    report.message = (
        f"{config.customer} is {report.outcome}: {report.counts['pass']} pass, {report.counts['warn']} "
        f"warn, {report.counts['fail']} fail" + (f"; {'; '.join(bad)}" if bad else "")
    )[:4000]
    if settings.topic_arn:
        text = status_update.message(
            incident_id=incident,
            status="Monitoring" if report.outcome != "healthy" else "Resolved",
            impact=report.message[:500],
            identified_at=now.strftime("%Y-%m-%d %H:%M UTC"),
            customers=[config.customer],
            actions=f"health check ({inp.trigger}, execution {execution or '-'})",
            eta="n/a",
            contact=config.paging.on_call_contact,
            now=now,
            next_update_minutes=None,
        )
        status_update.publish(
            clients("sns"),
            settings.topic_arn,
            incident,
            f"{text}\n\nChecks:\n{summary_text(report)}",
            status_update.attributes(customer=config.customer, kind="health-check", status=report.outcome),
        )
        report.published = True
    else:
        report.notes.append("no status topic configured (TOPIC_ARN): the summary was not published")
    return report


handler = kit.handler(RUNBOOK, HealthReport, guard=kit.guard(run_checks))
