"""snapshot-rds-cluster end to end: the synthesized dhbw stack in the sandbox, by alarm and by hand."""

import hashlib
import json

import pytest

from tests.e2e.conftest import executions

CLUSTER = "lecture-dhbw-cluster"
CPU_HIGH = "lecture-dhbw-cluster-cpu-high"
OURS = {"created-by": "lecture-remediation", "customer": "dhbw"}


def start(**input_):
    return {"start": "snapshot-rds-cluster", "input": {"cluster": CLUSTER, **input_}}


def alarm(name=CPU_HIGH, state="ALARM"):
    return {"alarm": name, "state": state}


def snapshots(report) -> dict[str, dict]:
    return {s["id"]: s for s in report["world"]["rds"][CLUSTER]["snapshots"]}


def runs(report) -> list[dict]:
    return [e["output"] for e in executions(report, "-snapshot-rds-cluster")]


def test_rds_alarm_takes_a_snapshot_that_becomes_available_pages_with_the_diagnosis_and_ok_resolves(run_scenario):
    report = run_scenario({"steps": [alarm(), alarm(state="OK")]})
    [run] = runs(report)
    assert run["outcome"] == "snapshot_created" and run["status"] == "available" and run["polls"] >= 1
    assert snapshots(report)[run["snapshot"]]["status"] == "available"
    assert snapshots(report)[run["snapshot"]]["created_by_automation"] is True
    creates = [a for a in report["actions"] if a["operation"] == "CreateDBClusterSnapshot"]
    assert [c["params"]["DBClusterSnapshotIdentifier"] for c in creates] == [run["snapshot"]]
    trigger, change, resolve = report["pages"]
    assert (trigger["kind"], change["kind"], resolve["kind"]) == ("trigger", "change", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == f"lecture-dhbw/{CPU_HIGH}"
    assert trigger["payload"]["custom_details"]["priority"] == "P2"
    diagnosis = trigger["payload"]["custom_details"]["diagnosis"]
    assert diagnosis["status"] == "available"
    assert diagnosis["members"] == [
        {"instance": f"{CLUSTER}-1", "writer": True, "status": "available", "instance_class": "db.r6g.large"}
    ]
    assert isinstance(diagnosis["recent_events"], list) and "missing" not in diagnosis
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}


def test_rds_alarm_snapshots_before_the_page_and_the_page_carries_it(run_scenario):
    report = run_scenario({"steps": [alarm()]})
    [run] = runs(report)
    # the first trigger carries the snapshot (taken before the page went out); a snapshot does not lower the
    # load, so the re-check finds the alarm still in ALARM and escalates the same alert to P1
    trigger, escalated = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert run["snapshot"] in json.dumps(trigger["payload"])
    assert trigger["payload"]["severity"] == "warning" and escalated["payload"]["severity"] == "error"
    assert escalated["dedup_key"] == trigger["dedup_key"]


def test_a_second_alarm_within_the_cooldown_takes_no_second_snapshot(run_scenario):
    report = run_scenario({"steps": [alarm(), alarm(state="OK"), alarm()]})
    assert [r["outcome"] for r in runs(report)] == ["snapshot_created", "cooldown"]
    assert runs(report)[0]["snapshot"].startswith("lecture-dhbw-auto-")


def test_an_alarm_snapshot_within_the_cooldown_is_skipped_and_says_until_when(run_scenario):
    report = run_scenario({"steps": [start(trigger="alarm"), start(trigger="alarm"), start()]})
    first, second, by_hand = runs(report)
    assert (first["outcome"], second["outcome"], by_hand["outcome"]) == ("snapshot_created", "cooldown", "snapshot_created")
    assert "once per 360 minutes" in second["message"] and "the next is allowed from" in second["message"]
    assert len([a for a in report["actions"] if a["operation"] == "CreateDBClusterSnapshot"]) == 2


def test_prune_keeps_peoples_snapshots_automated_backups_and_the_automations_newest(run_scenario):
    world = {
        "rds": {
            CLUSTER: {
                "snapshots": [
                    {"id": "lecture-dhbw-auto-20261101-020000-aaaaaa", "age_days": 20, "tags": OURS},
                    {"id": "lecture-dhbw-auto-20261110-020000-bbbbbb", "age_days": 10, "tags": OURS},
                    {"id": "lecture-dhbw-auto-20261118-020000-cccccc", "age_days": 3, "tags": OURS},
                    {"id": "alice-before-upgrade", "age_days": 40, "tags": {"owner": "alice"}},
                    {"id": "lecture-dhbw-manual-20261001", "age_days": 50},
                    {"id": "rds:lecture-dhbw-cluster-2026-11-01-02-00", "age_days": 20, "automated": True},
                ]
            }
        }
    }
    report = run_scenario({"world": world, "steps": [start(reason="daily check")]})
    [run] = runs(report)
    assert sorted(run["pruned"]) == ["lecture-dhbw-auto-20261101-020000-aaaaaa", "lecture-dhbw-auto-20261110-020000-bbbbbb"]
    deletes = sorted(
        a["params"]["DBClusterSnapshotIdentifier"] for a in report["actions"] if a["operation"] == "DeleteDBClusterSnapshot"
    )
    assert deletes == sorted(run["pruned"])
    left = snapshots(report)
    assert set(left) >= {
        run["snapshot"],
        "lecture-dhbw-auto-20261118-020000-cccccc",
        "alice-before-upgrade",
        "lecture-dhbw-manual-20261001",
        "rds:lecture-dhbw-cluster-2026-11-01-02-00",
    }
    assert not set(left) & set(run["pruned"])
    assert left["alice-before-upgrade"]["created_by_automation"] is False


def test_a_busy_cluster_is_retried_with_backoff_and_then_snapshotted(run_scenario):
    report = run_scenario({"world": {"rds": {CLUSTER: {"busy_checks": 3}}}, "steps": [start()]})
    [run] = runs(report)
    assert run["outcome"] == "snapshot_created" and run["busy_checks"] >= 1
    # the waits grew (30 s, then 60 s ...) and were simulated, not slept
    assert report["_simulated_seconds"] >= 30 + 30  # at least one busy wait and one snapshot poll
    assert snapshots(report)[run["snapshot"]]["status"] == "available"


def test_a_create_that_finds_the_cluster_busy_is_retried(run_scenario):
    report = run_scenario({"world": {"rds": {CLUSTER: {"busy_creates": 1}}}, "steps": [start()]})
    [run] = runs(report)
    assert run["outcome"] == "snapshot_created" and run["busy_checks"] == 1
    creates = [a for a in report["actions"] if a["operation"] == "CreateDBClusterSnapshot"]
    assert len(creates) == 2 and "InvalidDBClusterStateFault" in creates[0]["error"]


def test_a_cluster_that_stays_busy_fails_clearly_and_is_paged(run_scenario):
    report = run_scenario({"world": {"rds": {CLUSTER: {"busy_checks": 100}}}, "steps": [alarm()]})
    [run] = runs(report)
    assert run["outcome"] == "cluster_busy" and "stayed busy (status backing-up) through 6 checks" in run["message"]
    assert not [a for a in report["actions"] if a["operation"] == "CreateDBClusterSnapshot"]
    assert not [s for s in snapshots(report).values() if s["created_by_automation"]]
    triggers = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert any("stayed busy" in p["payload"]["summary"] for p in triggers), [p["payload"]["summary"] for p in triggers]


def test_two_executions_get_distinct_snapshots_named_after_them(run_scenario):
    report = run_scenario({"steps": [start(), start()]})
    first, second = executions(report, "-snapshot-rds-cluster")
    names = [first["output"]["snapshot"], second["output"]["snapshot"]]
    assert names[0] != names[1] and set(names) <= set(snapshots(report))
    for e in (first, second):
        suffix = hashlib.sha256(e["output"]["execution"].encode()).hexdigest()[:6]
        assert e["output"]["snapshot"].startswith("lecture-dhbw-manual-") and e["output"]["snapshot"].endswith(suffix)


def test_snapshot_quota_exceeded_is_an_explicit_failure(run_scenario):
    world = {"rds": {CLUSTER: {"snapshot_quota": 1, "snapshots": [{"id": "alice-keep", "age_days": 1}]}}}
    report = run_scenario({"world": world, "steps": [start()]})
    [run] = runs(report)
    assert run["outcome"] == "quota_exceeded" and "SnapshotQuotaExceeded" in run["message"]
    assert set(snapshots(report)) - {"alice-keep"} == {s for s in snapshots(report) if s.startswith("rds:")}


def test_a_missing_cluster_is_cluster_not_found(run_scenario):
    report = run_scenario({"world": {"rds": {CLUSTER: {"exists": False}}}, "steps": [start()]})
    [run] = runs(report)
    assert run["outcome"] == "cluster_not_found" and "does not exist" in run["message"]
    assert report["actions"] == [] and report["world"]["rds"] == {}


def test_dry_run_says_what_it_would_snapshot_and_prune_and_changes_nothing(run_scenario):
    world = {"rds": {CLUSTER: {"snapshots": [{"id": "lecture-dhbw-auto-20261101-020000-aaaaaa", "age_days": 20, "tags": OURS}]}}}
    report = run_scenario({"mode": "dry-run", "world": world, "steps": [start()]})
    [run] = runs(report)
    assert run["outcome"] == "would_snapshot" and run["snapshot"] in run["message"]
    assert run["pruned"] == ["lecture-dhbw-auto-20261101-020000-aaaaaa"]
    assert report["actions"] == []


def test_a_world_naming_another_cluster_is_a_scenario_error():
    from customers import load_customer
    from sandbox.scenario import ScenarioError, check_against, parse

    scenario = parse({"customer": "dhbw", "world": {"rds": {"other-cluster": {}}}, "steps": [start()]})
    with pytest.raises(ScenarioError, match="world.rds.other-cluster: customers/dhbw.yaml names the cluster"):
        check_against(scenario, load_customer("dhbw"))


def test_the_daily_schedule_takes_an_auto_snapshot_once_per_firing_and_pages_nobody(run_scenario):
    world = {"rds": {CLUSTER: {"snapshots": [{"id": "lecture-dhbw-auto-20261101-020000-aaaaaa", "age_days": 20, "tags": OURS}]}}}
    report = run_scenario({"world": world, "steps": [{"schedule": "snapshot-rds-cluster", "deliveries": 2}]})
    [run] = runs(report)  # the duplicate delivery stopped at admit
    assert run["outcome"] == "snapshot_created" and run["trigger"] == "schedule"
    assert run["snapshot"].startswith("lecture-dhbw-auto-") and run["tags"]["trigger"] == "schedule"
    assert run["pruned"] == ["lecture-dhbw-auto-20261101-020000-aaaaaa"]
    assert snapshots(report)[run["snapshot"]]["status"] == "available"
    # a successful scheduled run needs nobody: only the snapshot's change event (it notifies no one)
    assert [(p["kind"], p["team"]) for p in report["pages"]] == [("change", "infrastructure")]


def test_a_scheduled_snapshot_of_a_busy_cluster_is_paged_at_p2(run_scenario):
    report = run_scenario({"world": {"rds": {CLUSTER: {"busy_checks": 100}}}, "steps": [{"schedule": "snapshot-rds-cluster"}]})
    [run] = runs(report)
    assert run["outcome"] == "cluster_busy"
    [page] = [p for p in report["pages"] if p["kind"] == "trigger"]
    assert page["payload"]["summary"].startswith("[P2]") and page["payload"]["severity"] == "warning"
    assert "stayed busy" in page["payload"]["summary"]
    assert page["payload"]["custom_details"]["outcome"]["outcome"] == "cluster_busy"
