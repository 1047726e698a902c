"""Operator runbooks end to end in the sandbox: restore-rds-cluster (approval), restore-drill, health-check."""

import json

from tests.e2e.conftest import executions

# who answers: named approvers (user/approvers/* in customers/dhbw.yaml), as IAM verified them
ALICE = "arn:aws:iam::111111111111:user/approvers/alice"
BOB = "arn:aws:iam::111111111111:user/approvers/bob"

CLUSTER = "lecture-dhbw-cluster"
SERVICE = "lecture-backend-service"
OURS = {"created-by": "lecture-remediation", "customer": "dhbw"}
SNAPSHOT = "lecture-dhbw-auto-20261125-020000-bbbbbb"
SEEDED = {
    "rds": {
        CLUSTER: {
            "snapshots": [
                {"id": "lecture-dhbw-auto-20261120-020000-aaaaaa", "age_days": 6, "tags": OURS},
                {"id": SNAPSHOT, "age_days": 1, "tags": OURS},
                {"id": "people-took-this-one", "age_days": 0.1},
            ]
        }
    }
}


def outputs(report, runbook) -> list[dict]:
    return [e["output"] for e in executions(report, f"-{runbook}")]


# --- restore-drill -----------------------------------------------------------------------------------------
def test_the_drill_restores_times_and_deletes_only_its_own_cluster(run_scenario):
    world = {"rds": {**SEEDED["rds"], "lecture-dhbw-drill-other": {"tags": {"owner": "someone"}}}}
    report = run_scenario({"world": world, "steps": [{"start": "restore-drill", "input": {"reason": "monthly"}}]})
    [run] = outputs(report, "restore-drill")
    assert run["outcome"] == "drill_passed" and run["deleted"] is True
    assert run["snapshot"] == SNAPSHOT and isinstance(run["rto_seconds"], int)
    assert run["polls"] >= 1  # the sandbox shows the restore "creating" first: verify polled for real
    restores = [a for a in report["actions"] if a["operation"] == "RestoreDBClusterFromSnapshot"]
    deletes = [a for a in report["actions"] if a["operation"] == "DeleteDBCluster"]
    assert [a["params"]["DBClusterIdentifier"] for a in restores] == [run["drill_cluster"]]
    assert [a["params"]["DBClusterIdentifier"] for a in deletes] == [run["drill_cluster"]]
    assert run["drill_cluster"].startswith("lecture-dhbw-drill-2")
    # the decoy (drill-like name, no drill tag) and the original survive; the drill cluster is gone
    assert set(report["world"]["rds"]) == {CLUSTER, "lecture-dhbw-drill-other"}
    assert report["world"]["rds"][CLUSTER]["status"] == "available"
    # the audit row keeps the drill's figure and snapshot: history can show drills
    [row] = [i for i in report["_table"] if i["pk"]["S"].startswith("audit#") and i["runbook"]["S"] == "restore-drill"]
    assert row["outcome"]["S"] == "drill_passed"
    audited = json.loads(row["plan"]["S"])
    assert audited["rto_seconds"] == run["rto_seconds"] and audited["snapshot"] == SNAPSHOT


def test_a_drill_without_snapshots_fails_and_restores_nothing(run_scenario):
    report = run_scenario({"steps": [{"start": "restore-drill", "input": {}}]})
    [run] = outputs(report, "restore-drill")
    assert run["outcome"] == "no_snapshot"
    assert not [a for a in report["actions"] if a["operation"] == "RestoreDBClusterFromSnapshot"]
    assert set(report["world"]["rds"]) == {CLUSTER}


# --- health-check ------------------------------------------------------------------------------------------
def checks(run) -> dict[str, str]:
    return {c["name"]: c["status"] for c in run["checks"]}


def test_health_check_on_a_healthy_world(run_scenario):
    report = run_scenario({"steps": [{"start": "health-check", "input": {}}]})
    [run] = outputs(report, "health-check")
    assert run["outcome"] == "healthy", run["message"]
    assert checks(run)[f"ecs:{SERVICE}"] == "pass" and checks(run)[f"rds:{CLUSTER}"] == "pass"
    assert checks(run)["content_bucket"] == "pass" and checks(run)["mode"] == "pass"
    assert run["published"] is True
    assert any("dhbw is healthy" in n.get("message", json.dumps(n)) for n in report["notifications"])
    assert not report["pages"]


def test_health_check_on_a_degraded_world(run_scenario):
    report = run_scenario(
        {
            "mode": "dry-run",
            "world": {"rds": {CLUSTER: {"status": "backing-up"}}},
            "steps": [{"start": "health-check", "input": {}}],
        }
    )
    [run] = outputs(report, "health-check")
    assert run["outcome"] == "degraded", run["message"]
    assert checks(run)["mode"] == "warn" and checks(run)[f"rds:{CLUSTER}"] == "warn"
    assert any("dhbw is degraded" in json.dumps(n) for n in report["notifications"])


# --- restore-rds-cluster (approval) ------------------------------------------------------------------------
RESTORED = "lecture-dhbw-cluster-restored"


def restore_steps(answer: dict) -> list[dict]:
    return [{"start": "restore-rds-cluster", "input": {"reason": "table dropped"}}, answer]


def test_an_approved_restore_makes_the_restored_cluster_available_and_leaves_the_original(run_scenario):
    report = run_scenario(
        {
            "world": SEEDED,
            "steps": restore_steps({"approve": "restore-rds-cluster", "by": "approvers/alice", "comment": "ok, go"}),
        }
    )
    [run] = outputs(report, "restore-rds-cluster")
    assert run["outcome"] == "restored", run.get("message")
    assert run["snapshot"] == SNAPSHOT and run["endpoint"] and run["endpoint"] in run["message"]
    assert isinstance(run["took_seconds"], int) and run["polls"] >= 1
    assert run["approval"]["by"] == ALICE and run["approval"]["comment"] == "ok, go"
    world = report["world"]["rds"]
    assert world[RESTORED]["status"] == "available" and world[RESTORED]["endpoint"] == run["endpoint"]
    assert world[RESTORED]["tags"]["restored-from"] == SNAPSHOT
    assert world[CLUSTER]["status"] == "available"
    touched = {
        a["params"].get("DBClusterIdentifier")
        for a in report["actions"]
        if a["operation"] not in ("DescribeDBClusters", "DescribeDBClusterSnapshots")
    }
    assert touched == {RESTORED}  # the original cluster is never the subject of a change
    [approval] = report["approvals"]
    assert (approval["runbook"], approval["answer"], approval["by"]) == ("restore-rds-cluster", "approved", ALICE)


def test_a_rejected_restore_restores_nothing(run_scenario):
    report = run_scenario(
        {
            "world": SEEDED,
            "steps": restore_steps({"reject": "restore-rds-cluster", "by": "approvers/bob", "comment": "wrong snapshot"}),
        }
    )
    [execution] = executions(report, "-restore-rds-cluster")
    assert execution["status"] == "SUCCEEDED" and execution["output"]["outcome"] == "rejected"
    assert not [a for a in report["actions"] if a["operation"] == "RestoreDBClusterFromSnapshot"]
    assert set(report["world"]["rds"]) == {CLUSTER}
    [approval] = report["approvals"]
    assert (approval["answer"], approval["by"], approval["comment"]) == ("rejected", BOB, "wrong snapshot")


def test_a_restore_whose_approval_times_out_restores_nothing(run_scenario):
    report = run_scenario({"world": SEEDED, "steps": restore_steps({"wait_minutes": 31})})
    [execution] = executions(report, "-restore-rds-cluster")
    assert execution["output"]["outcome"] == "rejected"
    assert set(report["world"]["rds"]) == {CLUSTER}
    assert report["approvals"][0]["answer"] == "timed_out"


def test_a_restore_into_an_existing_restored_cluster_is_refused_without_asking(run_scenario):
    world = {"rds": {**SEEDED["rds"], RESTORED: {}}}
    report = run_scenario({"world": world, "steps": [{"start": "restore-rds-cluster", "input": {}}]})
    [run] = outputs(report, "restore-rds-cluster")
    assert run["outcome"] == "already_exists" and "approval_summary" not in run
    assert not report.get("approvals")
    assert not [a for a in report["actions"] if a["operation"] == "RestoreDBClusterFromSnapshot"]
