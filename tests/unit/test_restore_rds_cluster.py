"""Runbooks restore-rds-cluster and restore-drill on moto: guard (the plan an approver sees), act (re-checks the
snapshot, restores), verify (polls until available; the drill then deletes its own cluster, and only it)."""

from datetime import UTC, datetime, timedelta

import pytest
from moto.rds.models import rds_backends

from catalog import RUNBOOKS, naming
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.runbooks import parse_input
from lambdas.runbooks import restore_drill as drill
from lambdas.runbooks import restore_rds_cluster as restore
from lambdas.settings import Settings
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME

CLUSTER = "lecture-dhbw-cluster"
RESTORED = "lecture-dhbw-cluster-restored"
STARTED = datetime(2026, 11, 26, 9, 15, 7, tzinfo=UTC)
OURS = {naming.CREATED_BY_TAG: naming.CREATED_BY, "customer": "dhbw"}
APPROVAL = {"answer": "approved", "by": "alice", "comment": "go", "at": "2026-11-26T09:20:00+00:00"}


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def rds(session):
    return session.client("rds")


@pytest.fixture
def cluster(rds):
    rds.create_db_cluster(DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="lecture",
                          MasterUserPassword="unit-test-password")
    return rds_backends[ACCOUNT][REGION].clusters[CLUSTER]


def seed(name: str, *, age_days: float, tags: dict | None = None):
    s = rds_backends[ACCOUNT][REGION].create_db_cluster_snapshot(
        CLUSTER, name, tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    s.created = (NOW - timedelta(days=age_days)).replace(tzinfo=None)
    return s


def clusters() -> set[str]:
    return set(rds_backends[ACCOUNT][REGION].clusters)


@pytest.fixture
def guard(settings, rds, ssm):
    def call(raw: dict, *, started=STARTED):
        inp = parse_input(RUNBOOKS["restore-rds-cluster"], raw)
        return restore.plan_restore(inp, settings=settings, rds=rds, ssm=ssm, execution="exec-1", started=started)
    return call


def run_restore(plan, rds, dhbw, *, max_steps=10):
    p = restore.start_restore(restore.check_plan(plan.to_json(), dhbw), rds=rds, config=dhbw, now=NOW,
                              approval=APPROVAL)
    while p.verify and not p.settled and max_steps:
        p = restore.check_restore(restore.check_plan(p.to_json(), dhbw), rds=rds, now=NOW + timedelta(minutes=5))
        max_steps -= 1
    return p


# --- restore-rds-cluster -------------------------------------------------------------------------------------
def test_default_is_the_automations_latest_available_snapshot_and_the_plan_asks_for_approval(guard, cluster):
    seed("lecture-dhbw-auto-20261120-020000-aaaaaa", age_days=6, tags=OURS)
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    seed("someone-elses-newest", age_days=0)  # a person's snapshot: not the automation's
    plan = guard({"reason": "table dropped"})
    assert plan.proceed is True and plan.outcome is None
    assert plan.snapshot == "lecture-dhbw-auto-20261125-020000-bbbbbb"
    assert plan.restored_cluster == RESTORED and plan.snapshot_created.startswith("2026-11-25")
    assert "lecture-dhbw-auto-20261125-020000-bbbbbb" in plan.approval_summary
    assert RESTORED in plan.approval_summary and "not touched" in plan.approval_summary
    assert len(plan.approval_summary) <= 1000
    assert clusters() == {CLUSTER}  # guard changes nothing


def test_approved_restore_creates_the_restored_cluster_reports_endpoint_and_leaves_the_original(guard, rds, dhbw,
                                                                                                cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    before = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    final = run_restore(guard({"snapshot": "lecture-dhbw-manual-20261125-020000-cccccc"}), rds, dhbw)
    assert final.outcome == "restored"
    assert clusters() == {CLUSTER, RESTORED}
    new = rds.describe_db_clusters(DBClusterIdentifier=RESTORED)["DBClusters"][0]
    assert final.endpoint == new["Endpoint"] and final.endpoint in final.message
    assert final.took_seconds == 300 and "took 300 s" in final.message
    assert final.approval == APPROVAL
    tags = {t["Key"]: t["Value"] for t in new["TagList"]}
    assert tags[naming.CREATED_BY_TAG] == naming.CREATED_BY
    assert tags["restored-from"] == "lecture-dhbw-manual-20261125-020000-cccccc"
    after = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    volatile = ("LatestRestorableTime",)  # moto answers "now"
    assert {k: v for k, v in after.items() if k not in volatile} == {k: v for k, v in before.items()
                                                                     if k not in volatile}


def test_an_existing_restored_cluster_is_refused_at_guard_and_at_act(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    plan = guard({})
    rds.create_db_cluster(DBClusterIdentifier=RESTORED, Engine="aurora-postgresql", MasterUsername="x",
                          MasterUserPassword="unit-test-password")
    final = run_restore(plan, rds, dhbw)  # created meanwhile: act refuses too
    assert final.outcome == "already_exists" and RESTORED in final.message
    again = guard({})
    assert again.outcome == "already_exists" and again.proceed is False and again.approval_summary is None


def test_a_snapshot_deleted_after_approval_is_target_changed_and_nothing_is_restored(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    plan = guard({})
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="lecture-dhbw-manual-20261125-020000-cccccc")
    final = run_restore(plan, rds, dhbw)
    assert final.outcome == "target_changed" and "no longer exists" in final.message
    assert clusters() == {CLUSTER}


def test_a_snapshot_replaced_by_one_of_the_same_name_is_target_changed(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    plan = guard({})
    rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier="lecture-dhbw-manual-20261125-020000-cccccc")
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=0.5, tags=OURS)  # same id, another snapshot
    final = run_restore(plan, rds, dhbw)
    assert final.outcome == "target_changed" and "not the one approved" in final.message
    assert clusters() == {CLUSTER}


def test_missing_unusable_or_no_snapshot_are_explicit_outcomes(guard, rds, cluster):
    assert guard({"snapshot": "lecture-dhbw-nope"}).outcome == "snapshot_not_found"
    assert guard({}).outcome == "snapshot_not_found"  # the automation has none
    rds.create_db_cluster(DBClusterIdentifier="other", Engine="aurora-postgresql", MasterUsername="x",
                          MasterUserPassword="unit-test-password")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="other", DBClusterSnapshotIdentifier="other-snap")
    refused = guard({"snapshot": "other-snap"})
    assert refused.outcome == "snapshot_not_usable" and "not of customer dhbw" in refused.message
    assert clusters() == {CLUSTER, "other"}


def test_dry_run_and_off_change_nothing_and_ask_no_approval(guard, ssm, cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    dry = guard({"dry_run": True})
    assert dry.outcome == "would_restore" and dry.proceed is False and dry.approval_summary is None
    ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Type="String", Overwrite=True)
    off = guard({})
    assert off.outcome == "refused" and off.approval_summary is None
    assert clusters() == {CLUSTER}


def test_bad_input_names_the_field(guard, cluster):
    with pytest.raises(InvalidInput, match="snapshot"):
        guard({"snapshot": "has spaces"})
    with pytest.raises(InvalidInput, match="not customer dhbw's cluster"):
        guard({"cluster": "lecture-edt-cluster"})


@pytest.mark.parametrize("field,value", [("restored_cluster", CLUSTER), ("cluster", "other"),
                                         ("mode", "dry-run"), ("max_polls", 10_000)])
def test_act_refuses_a_forged_plan(guard, rds, dhbw, cluster, field, value):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    forged = {**guard({}).to_json(), field: value}
    with pytest.raises(InvalidPlan):
        restore.check_plan(forged, dhbw)
    assert clusters() == {CLUSTER}


# --- restore-drill ------------------------------------------------------------------------------------------
@pytest.fixture
def drill_guard(settings, rds, ssm):
    def call(raw: dict, *, started=STARTED):
        inp = parse_input(RUNBOOKS["restore-drill"], raw)
        return drill.plan_drill(inp, settings=settings, rds=rds, ssm=ssm, execution="exec-1", started=started)
    return call


def run_drill(plan, rds, dhbw, *, max_steps=10):
    p = drill.start_drill(drill.check_plan(plan.to_json(), dhbw), rds=rds, now=NOW)
    while p.verify and not p.settled and max_steps:
        p = drill.check_drill(drill.check_plan(p.to_json(), dhbw), rds=rds, config=dhbw,
                              now=NOW + timedelta(seconds=420))
        max_steps -= 1
    return p


def test_drill_restores_the_latest_snapshot_times_it_and_deletes_only_its_own_cluster(drill_guard, rds, dhbw,
                                                                                     cluster):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    # a decoy with a drill-like name but without the tags: never deleted
    rds.create_db_cluster(DBClusterIdentifier="lecture-dhbw-drill-other", Engine="aurora-postgresql",
                          MasterUsername="x", MasterUserPassword="unit-test-password")
    plan = drill_guard({})
    assert plan.proceed is True and plan.drill_cluster == "lecture-dhbw-drill-202611260915"
    calls = []
    real_delete = rds.delete_db_cluster
    rds.delete_db_cluster = lambda **kw: calls.append(kw["DBClusterIdentifier"]) or real_delete(**kw)
    final = run_drill(plan, rds, dhbw)
    assert final.outcome == "drill_passed" and final.deleted is True
    assert final.rto_seconds == 420 and "420 s" in final.message
    assert final.snapshot == "lecture-dhbw-auto-20261125-020000-bbbbbb"
    assert calls == ["lecture-dhbw-drill-202611260915"]
    assert clusters() == {CLUSTER, "lecture-dhbw-drill-other"}


def test_a_drill_cluster_without_the_tags_is_never_deleted(drill_guard, rds, dhbw, cluster, monkeypatch):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    plan = drill_guard({})
    p = drill.start_drill(drill.check_plan(plan.to_json(), dhbw), rds=rds, now=NOW)
    # someone removed the drill tag from the restored cluster meanwhile
    arn = rds.describe_db_clusters(DBClusterIdentifier=p.drill_cluster)["DBClusters"][0]["DBClusterArn"]
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=[naming.DRILL_TAG])
    final = drill.check_drill(drill.check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=NOW)
    assert final.outcome == "cleanup_failed" and "NOT deleted" in final.message
    assert p.drill_cluster in clusters()


def test_a_leftover_drill_cluster_refuses_a_new_drill(drill_guard, rds, cluster):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    rds.create_db_cluster(DBClusterIdentifier="lecture-dhbw-drill-202610010300", Engine="aurora-postgresql",
                          MasterUsername="x", MasterUserPassword="unit-test-password",
                          Tags=[{"Key": naming.DRILL_TAG, "Value": "true"},
                                {"Key": naming.CREATED_BY_TAG, "Value": naming.CREATED_BY}])
    plan = drill_guard({})
    assert plan.outcome == "drill_running" and "lecture-dhbw-drill-202610010300" in plan.message
    assert RUNBOOKS["restore-drill"].needs_person("drill_running")


def test_no_snapshot_fails_and_dry_run_changes_nothing(drill_guard, cluster):
    assert drill_guard({}).outcome == "no_snapshot"
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    dry = drill_guard({"dry_run": True})
    assert dry.outcome == "would_drill" and dry.proceed is False
    assert clusters() == {CLUSTER}


def test_drill_act_refuses_a_plan_naming_another_cluster(drill_guard, dhbw, cluster):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    forged = {**drill_guard({}).to_json(), "drill_cluster": CLUSTER}
    with pytest.raises(InvalidPlan, match="not the drill's name"):
        drill.check_plan(forged, dhbw)


def test_monthly_schedule_from_the_customer_file(dhbw):
    from catalog.runbooks import scheduled_runs

    assert "lecture-dhbw-restore-drill" not in scheduled_runs(dhbw)  # off by default
    on = dhbw.model_copy(update={"schedules": dhbw.schedules.model_copy(update={"restore_drill": "15 03:30"})})
    assert scheduled_runs(on)["lecture-dhbw-restore-drill"].expression == "cron(30 3 15 * ? *)"
