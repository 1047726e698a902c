"""Runbook restore-rds-cluster: guard (plan_restore), act (start_restore), verify (check_restore)."""

from datetime import timedelta

import pytest

from catalog import RUNBOOKS, naming
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.runbooks import parse_input
from lambdas.runbooks import restore_rds_cluster as restore
from tests.unit.builders import MODE_PARAMETER, NOW
from tests.unit.runbooks.rds_world import APPROVAL, CLUSTER, OURS, RESTORED, STARTED, clusters, seed


@pytest.fixture
def guard(settings, rds, ssm):
    def call(raw: dict, *, started=STARTED):
        inp = parse_input(RUNBOOKS["restore-rds-cluster"], raw)
        return restore.plan_restore(inp, settings=settings, rds=rds, ssm=ssm, execution="exec-1", started=started)

    return call


def run_restore(plan, rds, dhbw, *, max_steps=10):
    p = restore.start_restore(restore.check_plan(plan.to_json(), dhbw), rds=rds, config=dhbw, now=NOW, approval=APPROVAL)
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


def test_approved_restore_creates_the_restored_cluster_reports_endpoint_and_leaves_the_original(guard, rds, dhbw, cluster):
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
    assert {k: v for k, v in after.items() if k not in volatile} == {k: v for k, v in before.items() if k not in volatile}


def test_an_existing_restored_cluster_is_refused_at_guard_and_at_act(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    plan = guard({})
    rds.create_db_cluster(
        DBClusterIdentifier=RESTORED, Engine="aurora-postgresql", MasterUsername="x", MasterUserPassword="unit-test-password"
    )
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
    rds.create_db_cluster(
        DBClusterIdentifier="other", Engine="aurora-postgresql", MasterUsername="x", MasterUserPassword="unit-test-password"
    )
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


@pytest.mark.parametrize(
    "field,value", [("restored_cluster", CLUSTER), ("cluster", "other"), ("mode", "dry-run"), ("max_polls", 10_000)]
)
def test_act_refuses_a_forged_plan(guard, rds, dhbw, cluster, field, value):
    seed("lecture-dhbw-manual-20261125-020000-cccccc", age_days=1, tags=OURS)
    forged = {**guard({}).to_json(), field: value}
    with pytest.raises(InvalidPlan):
        restore.check_plan(forged, dhbw)
    assert clusters() == {CLUSTER}


# --- the network comes from the original cluster, in act (issue 15, Low 1) -------------------------------------
def test_act_restores_into_the_network_read_from_the_original_not_the_one_the_plan_names(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-dddddd", age_days=1, tags=OURS)
    plan = guard({"snapshot": "lecture-dhbw-manual-20261125-020000-dddddd"})
    # a plan that names another network (forged, or edited on its way to act)
    forged = plan.model_copy(update={"subnet_group": "attacker-subnets", "security_groups": ["sg-0attacker"]})
    final = run_restore(forged, rds, dhbw)
    assert final.outcome == "target_changed" and "not the one approved" in final.message
    assert "attacker-subnets" in final.message and clusters() == {CLUSTER}  # nothing restored


def test_act_refuses_when_the_original_left_the_configured_subnet_group(guard, rds, dhbw, cluster):
    seed("lecture-dhbw-manual-20261125-020000-eeeeee", age_days=1, tags=OURS)
    configured = dhbw.model_copy(update={"rds": dhbw.rds.model_copy(update={"subnet_group": "lecture-dhbw-db"})})
    cluster.db_subnet_group_name = "someone-elses-subnets"
    plan = guard({"snapshot": "lecture-dhbw-manual-20261125-020000-eeeeee"})
    final = run_restore(plan, rds, configured)
    assert final.outcome == "target_changed" and "not the configured lecture-dhbw-db" in final.message
    assert clusters() == {CLUSTER}


def test_the_subnet_group_grant_is_the_configured_one_when_given(dhbw):
    from catalog.kinds import KINDS

    assert KINDS["rds_cluster"].arns["subnet_group"](dhbw) == ["arn:aws:rds:eu-central-1:111111111111:subgrp:*"]
    named = dhbw.model_copy(update={"rds": dhbw.rds.model_copy(update={"subnet_group": "lecture-dhbw-db"})})
    assert KINDS["rds_cluster"].arns["subnet_group"](named) == ["arn:aws:rds:eu-central-1:111111111111:subgrp:lecture-dhbw-db"]
