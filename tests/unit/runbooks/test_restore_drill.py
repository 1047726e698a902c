"""Runbook restore-drill: guard (plan_drill), act (start_drill), verify (check_drill), its schedule."""

from datetime import timedelta

import pytest

from catalog import RUNBOOKS, naming
from lambdas.errors import InvalidPlan
from lambdas.runbooks import parse_input
from lambdas.runbooks import restore_drill as drill
from tests.unit.builders import NOW
from tests.unit.runbooks.rds_world import CLUSTER, OURS, STARTED, clusters, seed


# --- restore-drill ------------------------------------------------------------------------------------------
@pytest.fixture
def drill_guard(settings, rds, ssm):
    def call(raw: dict, *, started=STARTED):
        inp = parse_input(RUNBOOKS["restore-drill"], raw)
        return drill.plan_drill(inp, settings=settings, rds=rds, ssm=ssm, execution="exec-1", started=started)

    return call


def run_drill(plan, rds, dhbw, *, max_steps=10):
    p = drill.start_drill(drill.check_plan(plan.to_json(), dhbw), rds=rds, now=NOW, config=dhbw)
    while p.verify and not p.settled and max_steps:
        p = drill.check_drill(drill.check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=NOW + timedelta(seconds=420))
        max_steps -= 1
    return p


def test_drill_restores_the_latest_snapshot_times_it_and_deletes_only_its_own_cluster(drill_guard, rds, dhbw, cluster):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    # a decoy with a drill-like name but without the tags: never deleted
    rds.create_db_cluster(
        DBClusterIdentifier="lecture-dhbw-drill-other",
        Engine="aurora-postgresql",
        MasterUsername="x",
        MasterUserPassword="unit-test-password",
    )
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
    p = drill.start_drill(drill.check_plan(plan.to_json(), dhbw), rds=rds, now=NOW, config=dhbw)
    # someone removed the drill tag from the restored cluster meanwhile
    arn = rds.describe_db_clusters(DBClusterIdentifier=p.drill_cluster)["DBClusters"][0]["DBClusterArn"]
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=[naming.DRILL_TAG])
    final = drill.check_drill(drill.check_plan(p.to_json(), dhbw), rds=rds, config=dhbw, now=NOW)
    assert final.outcome == "cleanup_failed" and "NOT deleted" in final.message
    assert p.drill_cluster in clusters()


def test_a_leftover_drill_cluster_refuses_a_new_drill(drill_guard, rds, cluster):
    seed("lecture-dhbw-auto-20261125-020000-bbbbbb", age_days=1, tags=OURS)
    rds.create_db_cluster(
        DBClusterIdentifier="lecture-dhbw-drill-202610010300",
        Engine="aurora-postgresql",
        MasterUsername="x",
        MasterUserPassword="unit-test-password",
        Tags=[{"Key": naming.DRILL_TAG, "Value": "true"}, {"Key": naming.CREATED_BY_TAG, "Value": naming.CREATED_BY}],
    )
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
