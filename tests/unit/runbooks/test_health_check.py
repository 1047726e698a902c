"""Runbook health-check on moto: each check's pass / warn / fail, the overall outcome, the summary on the status
topic, and that it changes nothing."""

import json
from datetime import timedelta

import pytest
from moto.ecs.models import ecs_backends

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput
from lambdas.runbooks import parse_input
from lambdas.runbooks.health_check import run_checks
from lambdas.settings import Settings
from tests.unit.builders import ACCOUNT, CLUSTER, MODE_PARAMETER, NOW, REGION, SERVICE, TABLE_NAME, create_service

RUNBOOK = RUNBOOKS["health-check"]


@pytest.fixture
def healthy(session, world, ecs):
    """dhbw as it should be: the service at its desired count, the cluster available, the content bucket, the
    lock table without a lock, mode enforce."""
    create_service(ecs, desired=2)
    ecs_backends[ACCOUNT][REGION].services[f"{CLUSTER}:{SERVICE}"].running_count = 2  # its tasks started
    rds = session.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="lecture", MasterUserPassword="unit-test-password"
    )
    s3 = session.client("s3")
    s3.create_bucket(Bucket="content-dhbw-prod", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.create_bucket(Bucket="lecture-dhbw-terraform-state", CreateBucketConfiguration={"LocationConstraint": REGION})
    session.client("dynamodb").create_table(
        TableName="terraform-state-lock",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return world


@pytest.fixture
def check(session, dhbw, world):
    topic_arn = session.client("sns").list_topics()["Topics"][0]["TopicArn"]
    settings = Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER, topic_arn=topic_arn)

    def call(raw: dict | None = None):
        inp = parse_input(RUNBOOK, raw or {})
        return run_checks(inp, settings=settings, clients=session.client, table=world.table, now=NOW, execution="exec-1")

    return call


def statuses(report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_a_healthy_customer_passes_every_check_and_the_summary_goes_to_the_topic(healthy, check):
    report = check()
    assert statuses(report) == {
        f"ecs:{SERVICE}": "pass",
        "rds:lecture-dhbw-cluster": "pass",
        "content_bucket": "pass",
        "state_lock": "pass",
        "mode": "pass",
        f"window:{SERVICE}": "pass",
    }, report.message
    assert report.outcome == "healthy" and report.counts == {"pass": 6, "warn": 0, "fail": 0}
    assert report.proceed is False and report.published is True
    [update] = healthy.status_updates()
    assert "dhbw is healthy" in update["Message"] and f"PASS ecs:{SERVICE}" in update["Message"]
    assert update["Attributes"]["kind"] == "health-check" and update["Attributes"]["status"] == "healthy"
    assert RUNBOOK.outcome("healthy").kind == "ok"


def test_a_degraded_customer_warns_for_short_tasks_dry_run_stale_lock_and_an_open_window(healthy, check, session):
    ecs_backends[ACCOUNT][REGION].services[f"{CLUSTER}:{SERVICE}"].running_count = 1
    healthy.ssm.put_parameter(Name=MODE_PARAMETER, Value="dry-run", Type="String", Overwrite=True)
    info = {
        "ID": "9e2b",
        "Operation": "OperationTypeApply",
        "Who": "ci@runner-7",
        "Created": (NOW - timedelta(hours=5)).isoformat().replace("+00:00", "Z"),
    }
    session.client("dynamodb").put_item(
        TableName="terraform-state-lock",
        Item={"LockID": {"S": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"}, "Info": {"S": json.dumps(info)}},
    )
    healthy.table.put_item(
        Item={
            "pk": f"window#{SERVICE}",
            "sk": "open",
            "execution": "mw-1",
            "opened": NOW.isoformat(),
            "expires": (NOW + timedelta(minutes=30)).isoformat(),
        }
    )
    report = check()
    got = statuses(report)
    assert report.outcome == "degraded" and report.counts["fail"] == 0
    assert got[f"ecs:{SERVICE}"] == "warn" and got["mode"] == "warn" and got["state_lock"] == "warn"
    assert got[f"window:{SERVICE}"] == "warn" and got["rds:lecture-dhbw-cluster"] == "pass"
    assert "running 1 of 2" in report.message and "9e2b" in report.message and "mw-1" in report.message
    assert "dhbw is degraded" in healthy.status_updates()[0]["Message"]


def test_an_expired_window_passes(healthy, check):
    healthy.table.put_item(
        Item={
            "pk": f"window#{SERVICE}",
            "sk": "open",
            "execution": "mw-1",
            "opened": (NOW - timedelta(hours=2)).isoformat(),
            "expires": (NOW - timedelta(hours=1)).isoformat(),
        }
    )
    assert statuses(check())[f"window:{SERVICE}"] == "pass"


def test_an_unhealthy_customer_fails_for_no_tasks_failed_rollout_missing_bucket_and_cluster(healthy, check, session):
    svc = ecs_backends[ACCOUNT][REGION].services[f"{CLUSTER}:{SERVICE}"]
    svc.running_count = 0
    session.client("s3").delete_bucket(Bucket="content-dhbw-prod")
    session.client("rds").delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)
    report = check()
    got = statuses(report)
    assert report.outcome == "unhealthy" and RUNBOOK.needs_person("unhealthy")
    assert got[f"ecs:{SERVICE}"] == "fail" and got["content_bucket"] == "fail"
    assert got["rds:lecture-dhbw-cluster"] == "fail"
    assert "s3://content-dhbw-prod does not exist" in report.message


def test_a_failed_rollout_fails_the_service(healthy, check, monkeypatch, session):
    real = session.client("ecs")

    class Ecs:  # moto has no rollout state: the service as ECS reports a circuit-breaker rollback
        def describe_services(self, **kw):
            out = real.describe_services(**kw)
            out["services"][0]["deployments"][0].update(
                rolloutState="FAILED", failedTasks=3, rolloutStateReason="ECS deployment circuit breaker"
            )
            return out

    inp = parse_input(RUNBOOK, {})
    topic_arn = session.client("sns").list_topics()["Topics"][0]["TopicArn"]
    settings = Settings(customer=healthy.config, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER, topic_arn=topic_arn)
    report = run_checks(
        inp,
        settings=settings,
        clients=lambda s: Ecs() if s == "ecs" else session.client(s),
        table=healthy.table,
        now=NOW,
        execution="x",
    )
    item = next(c for c in report.checks if c.name == f"ecs:{SERVICE}")
    assert item.status == "fail" and "FAILED" in item.detail and "3 task(s) failed" in item.detail


def test_another_cluster_is_bad_input(healthy, check):
    with pytest.raises(InvalidInput, match="not customer dhbw's cluster"):
        check({"cluster": "lecture-edt-cluster"})


def test_daily_schedule_from_the_customer_file(dhbw):
    from catalog.runbooks import scheduled_runs

    assert "lecture-dhbw-health-check" not in scheduled_runs(dhbw)  # off by default
    on = dhbw.model_copy(update={"schedules": dhbw.schedules.model_copy(update={"health_check": "06:00"})})
    assert scheduled_runs(on)["lecture-dhbw-health-check"].expression == "cron(0 6 * * ? *)"


def test_a_missing_state_bucket_fails_the_lock_check_and_the_check_still_finishes(healthy, check, session):
    # given the Terraform state bucket is gone (the lock table is there)
    session.client("s3").delete_bucket(Bucket="lecture-dhbw-terraform-state")
    # when
    report = check()
    # then the lock check fails, saying why, and every other check is still reported and published
    got = statuses(report)
    assert got["state_lock"] == "fail" and report.outcome == "unhealthy"
    item = next(c for c in report.checks if c.name == "state_lock")
    assert item.detail == (
        "cannot tell whether lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate is "
        "locked: the state bucket s3://lecture-dhbw-terraform-state does not exist "
        "(NoSuchBucket in ListObjectsV2)"
    )
    assert {name: status for name, status in got.items() if name != "state_lock"} == {
        f"ecs:{SERVICE}": "pass",
        "rds:lecture-dhbw-cluster": "pass",
        "content_bucket": "pass",
        "mode": "pass",
        f"window:{SERVICE}": "pass",
    }
    assert report.counts == {"pass": 5, "warn": 0, "fail": 1}
    [update] = healthy.status_updates()
    assert "dhbw is unhealthy" in update["Message"] and "FAIL state_lock: cannot tell whether" in update["Message"]


def test_a_state_bucket_without_read_access_fails_the_lock_check(healthy, session):
    from botocore.exceptions import ClientError

    real = session.client("s3")

    class S3:  # the function's role may not list the state bucket: S3 answers 403
        def __getattr__(self, name):
            return getattr(real, name)

        def list_objects_v2(self, **kw):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "ListObjectsV2")

    inp = parse_input(RUNBOOK, {})
    settings = Settings(customer=healthy.config, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER, topic_arn="")
    report = run_checks(
        inp,
        settings=settings,
        clients=lambda s: S3() if s == "s3" else session.client(s),
        table=healthy.table,
        now=NOW,
        execution="x",
    )
    item = next(c for c in report.checks if c.name == "state_lock")
    assert item.status == "fail" and report.outcome == "unhealthy"
    assert item.detail.endswith(
        "the state bucket s3://lecture-dhbw-terraform-state is not readable (AccessDenied in ListObjectsV2)"
    )
    assert statuses(report)["content_bucket"] == "pass"  # the content bucket is read with head_bucket, apart
