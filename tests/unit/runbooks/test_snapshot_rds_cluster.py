"""Runbook snapshot-rds-cluster on moto: guard (plan_snapshot), act (take_snapshot), verify (check_snapshot),
prune, and the rds_cluster diagnosis."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from moto.rds.models import rds_backends

from catalog import RUNBOOKS, naming
from lambdas.diagnosis.rds_cluster import rds_cluster as diagnose_cluster
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks.snapshot_rds_cluster import (
    BUSY_CHECKS,
    check_plan,
    check_snapshot,
    plan_snapshot,
    prune_candidates,
    snapshot_name,
    take_snapshot,
)
from lambdas.settings import Settings
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME

RUNBOOK = RUNBOOKS["snapshot-rds-cluster"]
CLUSTER = "lecture-dhbw-cluster"
STARTED = datetime(2026, 11, 26, 9, 15, 7, 123000, tzinfo=UTC)
OURS = {naming.CREATED_BY_TAG: naming.CREATED_BY, "customer": "dhbw"}


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def rds(session):
    return session.client("rds")


@pytest.fixture
def cluster(rds):
    """dhbw's Aurora cluster with one writer, as the customer's Terraform creates it."""
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="lecture", MasterUserPassword="unit-test-password"
    )
    rds.create_db_instance(
        DBInstanceIdentifier=f"{CLUSTER}-1",
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    backend = rds_backends[ACCOUNT][REGION]
    backend.clusters[CLUSTER].allocated_storage = 20
    return backend.clusters[CLUSTER]


@pytest.fixture
def guard(settings, rds, ssm, table):
    def call(raw: dict, *, now=NOW, execution="exec-1", started=STARTED):
        inp = parse_input(RUNBOOK, {"cluster": CLUSTER, **raw})
        return plan_snapshot(
            inp, settings=settings, rds=rds, ssm=ssm, store=Store(table, now), now=now, execution=execution, started=started
        )

    return call


def run(plan, rds, dhbw, *, now=NOW, max_steps=20):
    """act, then verify until settled, as the runbook workflow does; returns (final plan, the waits)."""
    p = take_snapshot(check_plan(plan.to_json(), dhbw), rds=rds)
    waits = []
    while p.verify and not p.settled and max_steps:
        waits.append(p.wait_seconds)
        p = check_snapshot(check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=now)
        max_steps -= 1
    return p, waits


def seed(name: str, *, age_days: float, tags: dict | None = None, automated: bool = False):
    backend = rds_backends[ACCOUNT][REGION]
    s = backend.create_db_cluster_snapshot(
        CLUSTER,
        name,
        snapshot_type="automated" if automated else "manual",
        tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )
    s.created = NOW - timedelta(days=age_days)


def snapshot_ids(rds) -> set[str]:
    return {
        s["DBClusterSnapshotIdentifier"]
        for s in rds.describe_db_cluster_snapshots(DBClusterIdentifier=CLUSTER)["DBClusterSnapshots"]
    }


def tags_of(rds, name) -> dict:
    [s] = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)["DBClusterSnapshots"]
    return {t["Key"]: t["Value"] for t in s["TagList"]}


# --- names --------------------------------------------------------------------------------------------------


def test_name_is_the_runbooks_with_time_and_an_execution_suffix():
    manual = snapshot_name("dhbw", "manual", STARTED, "exec-1")
    auto = snapshot_name("dhbw", "schedule", STARTED, "exec-1")
    assert re.fullmatch(r"lecture-dhbw-manual-20261126-091507-[0-9a-f]{6}", manual)
    assert re.fullmatch(r"lecture-dhbw-auto-20261126-091507-[0-9a-f]{6}", auto)
    assert snapshot_name("dhbw", "alarm", STARTED, "exec-1").startswith("lecture-dhbw-auto-")


def test_two_executions_in_the_same_second_get_distinct_snapshots(guard, rds, dhbw, cluster):
    first = guard({"reason": "before a migration"}, execution="exec-a")
    second = guard({"reason": "before a migration"}, execution="exec-b")
    assert first.snapshot != second.snapshot
    assert first.snapshot[:-7] == second.snapshot[:-7]  # same second, different suffix
    run(first, rds, dhbw)
    run(second, rds, dhbw)
    assert {first.snapshot, second.snapshot} <= snapshot_ids(rds)


def test_every_customer_gets_a_valid_snapshot_identifier():
    from customers import load_all

    for config in load_all():
        name = snapshot_name(config.customer, "manual", STARTED, "x" * 80)
        # 1-63 letters, digits or hyphens, a letter first, no trailing or double hyphen (RDS's rules)
        assert re.fullmatch(r"[a-z](?!.*--)[a-z0-9-]{0,61}[a-z0-9]", name), name


# --- the snapshot ----------------------------------------------------------------------------------------------


def test_manual_snapshot_is_taken_tagged_and_reported_with_size_and_duration(guard, rds, dhbw, cluster):
    plan = guard({"reason": "before a schema migration (v42)"})
    assert plan.proceed is True
    done, _ = run(plan, rds, dhbw, now=STARTED + timedelta(seconds=95))
    assert done.outcome == "snapshot_created"
    assert (done.size_gb, done.took_seconds) == (20, 95)
    assert "20 GiB, took 95 s" in done.message
    assert plan.snapshot in snapshot_ids(rds)
    assert tags_of(rds, plan.snapshot) == {
        "customer": "dhbw",
        "reason": "before a schema migration  v42 ",
        "execution": "exec-1",
        "trigger": "manual",
        naming.CREATED_BY_TAG: naming.CREATED_BY,
    }


def test_act_retried_or_redriven_adopts_its_snapshot_instead_of_a_second(guard, rds, dhbw, cluster):
    plan = guard({})
    before = snapshot_ids(rds)
    first = take_snapshot(check_plan(plan.to_json(), dhbw), rds=rds)
    again = take_snapshot(check_plan(plan.to_json(), dhbw), rds=rds)  # the same act, run a second time
    assert first.phase == again.phase == "creating"
    assert any("adopted" in n for n in again.notes)
    assert snapshot_ids(rds) - before == {plan.snapshot}


def test_a_name_taken_by_another_execution_is_not_adopted(guard, rds, dhbw, cluster):
    plan = guard({})
    seed(plan.snapshot, age_days=0, tags={**OURS, "execution": "someone-else"})
    done = take_snapshot(check_plan(plan.to_json(), dhbw), rds=rds)
    assert done.outcome == "snapshot_failed" and "not made by execution exec-1" in done.message


# --- prune -------------------------------------------------------------------------------------------------------


def test_prune_deletes_only_the_automations_old_snapshots(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-auto-20261110-020000-aaaaaa", age_days=16, tags=OURS)
    seed("lecture-dhbw-auto-20261118-020000-bbbbbb", age_days=8, tags=OURS)
    seed("lecture-dhbw-auto-20261124-020000-cccccc", age_days=2, tags=OURS)
    seed("lecture-dhbw-before-upgrade", age_days=30, tags={"owner": "alice"})  # a person's
    seed("lecture-dhbw-manual-20261001", age_days=56)  # the runbook's old hand-made name, no tag
    seed("rds:lecture-dhbw-cluster-2026-11-01-02-00", age_days=25, automated=True)  # AWS automated backup
    plan = guard({})
    done, _ = run(plan, rds, dhbw)
    assert sorted(done.pruned) == ["lecture-dhbw-auto-20261110-020000-aaaaaa", "lecture-dhbw-auto-20261118-020000-bbbbbb"]
    assert snapshot_ids(rds) >= {
        plan.snapshot,
        "lecture-dhbw-auto-20261124-020000-cccccc",
        "lecture-dhbw-before-upgrade",
        "lecture-dhbw-manual-20261001",
        "rds:lecture-dhbw-cluster-2026-11-01-02-00",
    }
    assert not snapshot_ids(rds) & set(done.pruned)


def test_prune_always_keeps_the_automations_newest_snapshot():
    old = NOW - timedelta(days=30)
    snaps = [
        {"DBClusterSnapshotIdentifier": n, "SnapshotCreateTime": old - timedelta(days=i), "Status": "available"}
        for i, n in enumerate(["newest", "older", "oldest"])
    ]
    delete, kept = prune_candidates(snaps, keep="just-made", cutoff=NOW - timedelta(days=7))
    assert (delete, kept) == (["older", "oldest"], ["newest"])


# --- busy, quota, not found ---------------------------------------------------------------------------------


def test_busy_cluster_is_retried_with_growing_waits_then_snapshotted(guard, rds, dhbw, cluster):
    cluster.status = "backing-up"
    plan = guard({})
    p = take_snapshot(check_plan(plan.to_json(), dhbw), rds=rds)
    assert (p.phase, p.verify, p.wait_seconds) == ("busy", True, 30)
    p = check_snapshot(check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=NOW)
    assert (p.phase, p.busy_checks, p.wait_seconds) == ("busy", 2, 60)
    cluster.status = "available"
    p = check_snapshot(check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=NOW)
    assert p.phase == "creating" and plan.snapshot in snapshot_ids(rds)


def test_cluster_that_stays_busy_fails_clearly_without_a_snapshot(guard, rds, dhbw, cluster):
    cluster.status = "modifying"
    before = snapshot_ids(rds)
    done, waits = run(guard({}), rds, dhbw)
    assert done.outcome == "cluster_busy" and RUNBOOK.needs_person("cluster_busy")
    assert waits == [30, 60, 120, 240, 300] and done.busy_checks == BUSY_CHECKS
    assert "stayed busy (status modifying) through 6 checks over 750 s" in done.message
    assert snapshot_ids(rds) == before


class BusyOnCreate:
    """The cluster answers available, but CreateDBClusterSnapshot finds it busy (a race with a backup)."""

    def __init__(self, rds, times: int):
        self.rds, self.times = rds, times

    def __getattr__(self, name):
        return getattr(self.rds, name)

    def create_db_cluster_snapshot(self, **kwargs):
        if self.times:
            self.times -= 1
            raise ClientError(
                {"Error": {"Code": "InvalidDBClusterStateFault", "Message": "backing up"}}, "CreateDBClusterSnapshot"
            )
        return self.rds.create_db_cluster_snapshot(**kwargs)


def test_invalid_cluster_state_on_create_is_retried_like_a_busy_status(guard, rds, dhbw, cluster):
    plan = guard({})
    done, waits = run(plan, BusyOnCreate(rds, 1), dhbw)
    assert waits[0] == 30 and done.outcome == "snapshot_created"
    assert plan.snapshot in snapshot_ids(rds)


def test_snapshot_quota_exceeded_is_its_own_failed_outcome(guard, rds, dhbw, cluster, monkeypatch):
    monkeypatch.setenv("MOTO_RDS_SNAPSHOT_LIMIT", str(len(snapshot_ids(rds))))
    plan = guard({})
    done, _ = run(plan, rds, dhbw)
    assert done.outcome == "quota_exceeded" and RUNBOOK.needs_person("quota_exceeded")
    assert "SnapshotQuotaExceeded" in done.message and plan.snapshot not in snapshot_ids(rds)


def test_missing_cluster_is_cluster_not_found(guard, rds):
    plan = guard({})
    assert (plan.proceed, plan.outcome) == (False, "cluster_not_found")
    assert "cluster lecture-dhbw-cluster does not exist" in plan.message


# --- cooldown, modes, bad input -----------------------------------------------------------------------------


def test_alarm_snapshot_within_the_cooldown_is_skipped_with_when(guard, rds, dhbw, cluster):
    first = guard({"trigger": "alarm"}, execution="alarm-1")
    later = NOW + timedelta(minutes=90)
    second = guard({"trigger": "alarm"}, execution="alarm-2", now=later)
    assert first.proceed is True
    assert (second.proceed, second.outcome) == (False, "cooldown")
    assert "last alarm snapshot was taken at 2026-11-26T09:15:00Z" in second.message
    assert "next is allowed from 2026-11-26T15:15:00Z" in second.message
    # the execution that holds the cooldown, run again (a redrive), goes on; a person's run is never held back
    assert guard({"trigger": "alarm"}, execution="alarm-1", now=later).proceed is True
    assert guard({"trigger": "manual"}, execution="by-hand", now=later).proceed is True
    assert guard({"trigger": "alarm"}, execution="alarm-3", now=NOW + timedelta(minutes=361)).proceed is True


def test_mode_off_refuses_and_dry_run_says_what_it_would_do(guard, rds, dhbw, cluster, ssm):
    seed("lecture-dhbw-auto-20261110-020000-aaaaaa", age_days=16, tags=OURS)
    before = snapshot_ids(rds)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="dry-run", Type="String", Overwrite=True)
    dry = guard({})
    assert (dry.proceed, dry.outcome) == (False, "would_snapshot")
    assert dry.snapshot in dry.message and "lecture-dhbw-auto-20261110-020000-aaaaaa" in dry.message
    assert dry.pruned == ["lecture-dhbw-auto-20261110-020000-aaaaaa"]
    ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Type="String", Overwrite=True)
    off = guard({})
    assert (off.proceed, off.outcome) == (False, "refused") and "automation is off" in off.message
    assert snapshot_ids(rds) == before


def test_another_cluster_is_refused_as_bad_input(guard, rds, cluster):
    with pytest.raises(InvalidInput, match="'lecture-other-cluster' is not customer dhbw's cluster"):
        guard({"cluster": "lecture-other-cluster"})


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("cluster", "lecture-other-cluster", "is not the configured"),
        ("snapshot", "lecture-dhbw-manual-20261126-091507-ffffff", "is not the automation's name"),
        ("snapshot", "someone-elses-snapshot", "is not the automation's name"),
        ("max_polls", 10_000, "polling bounds"),
    ],
)
def test_act_refuses_a_forged_plan_and_changes_nothing(guard, rds, dhbw, cluster, field, value, error):
    forged = {**guard({}).to_json(), field: value}
    before = snapshot_ids(rds)
    with pytest.raises(InvalidPlan, match=error):
        check_plan(forged, dhbw)
    assert snapshot_ids(rds) == before


# --- diagnosis -----------------------------------------------------------------------------------------------


def test_diagnosis_has_status_members_and_recent_events(rds, cluster):
    found = diagnose_cluster(rds, CLUSTER)
    assert found["status"] == "available"
    assert found["members"] == [
        {"instance": f"{CLUSTER}-1", "writer": True, "status": "available", "instance_class": "db.r6g.large"}
    ]
    assert isinstance(found["recent_events"], list) and "missing" not in found


class NoEvents:
    def __init__(self, rds):
        self.rds = rds

    def __getattr__(self, name):
        return getattr(self.rds, name)

    def describe_events(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DescribeEvents")


def test_a_failing_part_of_the_diagnosis_is_named_and_the_rest_still_travels(rds, cluster):
    found = diagnose_cluster(NoEvents(rds), CLUSTER)
    assert "AccessDenied" in found["missing"]["recent_events"]
    assert found["status"] == "available" and found["members"][0]["status"] == "available"
