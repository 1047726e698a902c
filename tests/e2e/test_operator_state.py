"""End-to-end: the operator runbooks on the Terraform state, behind an approval: force-unlock-state and
restore-terraform-state, started by hand, approved, rejected or timed out in the sandbox."""

import hashlib
import json

import pytest

from tests.e2e.conftest import executions

# who answers: named approvers (user/approvers/* in customers/dhbw.yaml), as IAM verified them
ALICE = "arn:aws:iam::111111111111:user/approvers/alice"

LOCK_ID = "6b1d7c1e-2f0a-4d7e-9a55-1c3b8e2f4a10"
NEW_ID = "0c9f8e7d-6b5a-4c3d-9e2f-1a0b9c8d7e6f"
TABLE = "terraform-state-lock"
LOCK_PATH = "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"
STATE_BUCKET, STATE_KEY = "lecture-dhbw-terraform-state", "lecture-dhbw/terraform.tfstate"
BACKUP_BUCKET, BACKUP = "terraform-state-backup", "lecture-dhbw/terraform.tfstate.backup"
CORRUPTED_PREFIX = "lecture-dhbw/terraform.tfstate.corrupted-"
DIGEST = "0f343b0931126a20f133d67c2b018a3b"  # the world's -md5 item
LINEAGE, OTHER_LINEAGE = "3f1c2a9e-7d4b-4e2a-9c3e-0b8f5a6d1e77", "9d0e4b2c-1a3f-4c5d-8e6f-7a8b9c0d1e2f"
BROKEN = '{"version": 4, "serial": 13, "lineage": "3f1c2a9e'  # an apply cut off mid-write
STALE = [
    {"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID, "who": "ci@runner-7"},
    {"kind": "s3", "age_minutes": 180, "id": LOCK_ID, "who": "ci@runner-7"},
]
UNLOCK = {"start": "force-unlock-state", "input": {"lock_id": LOCK_ID, "reason": "stale, no run is going on"}}
RESTORE = {"start": "restore-terraform-state", "input": {"reason": "state corrupted by an interrupted apply"}}


@pytest.fixture
def between(monkeypatch):
    """What a person or another run does meanwhile: ``before_answer(sandbox)`` runs while the approval is pending,
    right before a scenario step answers it; ``end(sandbox)`` sees the sandbox after the last step."""
    from sandbox import scenario as scenarios

    def install(*, before_answer=None, end=None):
        original = scenarios.run_steps

        def run_steps(scenario, sb):
            if before_answer is not None:
                answer = sb.answer_approval

                def answer_after_the_change(*args, **kwargs):
                    before_answer(sb)
                    return answer(*args, **kwargs)

                sb.answer_approval = answer_after_the_change
            report = original(scenario, sb)
            if end is not None:
                end(sb)
            return report

        monkeypatch.setattr(scenarios, "run_steps", run_steps)

    return install


def only_run(report, suffix):
    [run] = executions(report, suffix)
    assert run["status"] == "SUCCEEDED", run
    return run["output"]


def operations(report) -> list[tuple[str, str]]:
    return [(a["service"], a["operation"]) for a in report["actions"]]


# --- force-unlock-state ---------------------------------------------------------------------------------------
def test_an_approved_unlock_removes_the_lock_shown_and_never_the_digest_item(run_scenario):
    report = run_scenario(
        {
            "world": {"locks": STALE},
            "steps": [UNLOCK, {"approve": "force-unlock-state", "by": "approvers/alice", "comment": "no run going on"}],
        }
    )
    out = only_run(report, "-force-unlock-state")
    assert out["outcome"] == "unlocked" and f"approved by {ALICE}" in out["message"]
    assert out["approval"]["answer"] == "approved" and out["approval"]["by"] == ALICE
    assert report["world"]["locks"] == []
    assert report["world"]["state"]["digest_item"] == DIGEST  # the -md5 item survives, untouched
    assert operations(report) == [("dynamodb", "DeleteItem"), ("s3", "DeleteObject")]
    [approval] = report["approvals"]
    assert (approval["runbook"], approval["answer"], approval["by"]) == ("force-unlock-state", "approved", ALICE)


@pytest.mark.parametrize(
    "answer,answered",
    [
        ({"reject": "force-unlock-state", "by": "approvers/bob", "comment": "a run is going on"}, "rejected"),
        ({"wait_minutes": 31}, "timed_out"),
    ],
)
def test_a_rejected_or_timed_out_unlock_removes_nothing(run_scenario, answer, answered):
    report = run_scenario({"world": {"locks": STALE}, "steps": [UNLOCK, answer]})
    out = only_run(report, "-force-unlock-state")
    assert out["outcome"] == "rejected" and out["approval"]["answer"] == answered
    assert [(lk["kind"], lk["id"]) for lk in report["world"]["locks"]] == [("dynamodb", LOCK_ID), ("s3", LOCK_ID)]
    assert report["actions"] == [] and report["world"]["state"]["digest_item"] == DIGEST


def test_an_unanswered_unlock_times_out_at_the_end_and_removes_nothing(run_scenario):
    report = run_scenario({"world": {"locks": STALE}, "steps": [UNLOCK]})
    out = only_run(report, "-force-unlock-state")
    assert out["outcome"] == "rejected" and out["approval"]["answer"] == "timed_out"
    assert len(report["world"]["locks"]) == 2 and report["actions"] == []


def test_a_lock_that_changed_while_waiting_for_approval_is_not_removed(run_scenario, between):
    def new_run_takes_the_lock(sb):  # the stale lock went, a new apply locked the state
        dynamodb = sb.client("dynamodb")
        dynamodb.delete_item(TableName=TABLE, Key={"LockID": {"S": LOCK_PATH}})
        info = json.dumps(
            {
                "ID": NEW_ID,
                "Operation": "OperationTypeApply",
                "Info": "",
                "Who": "bob@laptop",
                "Version": "1.9.5",
                "Created": "2026-11-27T07:00:00.000000Z",
                "Path": LOCK_PATH,
            }
        )
        dynamodb.put_item(TableName=TABLE, Item={"LockID": {"S": LOCK_PATH}, "Info": {"S": info}})

    between(before_answer=new_run_takes_the_lock)
    report = run_scenario(
        {"world": {"locks": STALE[:1]}, "steps": [UNLOCK, {"approve": "force-unlock-state", "by": "approvers/alice"}]}
    )
    out = only_run(report, "-force-unlock-state")
    assert out["outcome"] == "target_changed" and NEW_ID in out["message"] and "nothing was removed" in out["message"]
    assert [(lk["kind"], lk["id"]) for lk in report["world"]["locks"]] == [("dynamodb", NEW_ID)]
    assert report["actions"] == [] and report["world"]["state"]["digest_item"] == DIGEST


def test_another_lock_id_is_refused_without_asking(run_scenario):
    report = run_scenario(
        {
            "world": {"locks": STALE[:1]},
            "steps": [{"start": "force-unlock-state", "input": {"lock_id": NEW_ID, "reason": "stale, no run is going on"}}],
        }
    )
    out = only_run(report, "-force-unlock-state")
    assert out["outcome"] == "lock_changed" and LOCK_ID in out["message"]
    assert report["approvals"] == [] and report["actions"] == [] and len(report["world"]["locks"]) == 1


# --- restore-terraform-state ------------------------------------------------------------------------------------
def test_the_corrupted_state_is_backed_up_first_then_the_backup_restored(run_scenario, between):
    seen = {}

    def read_back(sb):
        s3 = sb.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BACKUP_BUCKET, Prefix=CORRUPTED_PREFIX)["Contents"]]
        seen["corrupted"] = {k: s3.get_object(Bucket=BACKUP_BUCKET, Key=k)["Body"].read() for k in keys}
        seen["state"] = s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read()
        seen["backup"] = s3.get_object(Bucket=BACKUP_BUCKET, Key=BACKUP)["Body"].read()

    between(end=read_back)
    report = run_scenario(
        {
            "world": {"state": {"body": BROKEN, "backup": {"serial": 12}}},
            "steps": [
                RESTORE,
                {"approve": "restore-terraform-state", "by": "approvers/alice", "comment": "checked the difference"},
            ],
        }
    )
    out = only_run(report, "-restore-terraform-state")
    assert out["outcome"] == "restored" and out["approval"]["by"] == ALICE
    # the corrupted state was copied to its own dated key, with its content, before the state was written
    [(key, content)] = seen["corrupted"].items()
    assert key == out["corrupted_key"] and content == BROKEN.encode()
    assert [(a["operation"], a["params"]["Key"]) for a in report["actions"] if a["service"] == "s3"] == [
        ("CopyObject", key),
        ("PutObject", STATE_KEY),
    ]
    # then the state is the backup, and Terraform's digest item matches it
    assert seen["state"] == seen["backup"]
    state = report["world"]["state"]
    assert (state["serial"], state["lineage"]) == (12, LINEAGE)
    assert state["digest_item"] == state["md5"] == hashlib.md5(seen["backup"], usedforsecurity=False).hexdigest()
    assert key in state["backups"] and BACKUP in state["backups"]


def test_a_lineage_change_is_refused_and_nothing_asked_or_written(run_scenario):
    report = run_scenario(
        {"world": {"state": {"serial": 20, "lineage": OTHER_LINEAGE, "backup": {"serial": 12}}}, "steps": [RESTORE]}
    )
    out = only_run(report, "-restore-terraform-state")
    assert out["outcome"] == "lineage_changed" and "allow_lineage_change" in out["message"]
    assert report["approvals"] == [] and report["actions"] == []
    assert (report["world"]["state"]["serial"], report["world"]["state"]["lineage"]) == (20, OTHER_LINEAGE)
    assert list(report["world"]["state"]["backups"]) == [BACKUP]


def test_a_lineage_change_is_restored_when_explicitly_allowed_and_approved(run_scenario):
    report = run_scenario(
        {
            "world": {"state": {"serial": 20, "lineage": OTHER_LINEAGE, "backup": {"serial": 12}}},
            "steps": [
                {
                    "start": "restore-terraform-state",
                    "input": {"reason": "the state was replaced by mistake", "allow_lineage_change": True},
                },
                {"approve": "restore-terraform-state", "by": "approvers/alice"},
            ],
        }
    )
    out = only_run(report, "-restore-terraform-state")
    assert out["outcome"] == "restored"
    assert (report["world"]["state"]["serial"], report["world"]["state"]["lineage"]) == (12, LINEAGE)
    [corrupted] = [k for k in report["world"]["state"]["backups"] if k.startswith(CORRUPTED_PREFIX)]
    assert report["world"]["state"]["backups"][corrupted] == {"serial": 20, "lineage": OTHER_LINEAGE}


def test_a_rejected_restore_writes_nothing(run_scenario):
    report = run_scenario(
        {
            "world": {"state": {"body": BROKEN, "backup": {"serial": 12}}},
            "steps": [RESTORE, {"reject": "restore-terraform-state", "by": "approvers/bob", "comment": "no"}],
        }
    )
    out = only_run(report, "-restore-terraform-state")
    assert out["outcome"] == "rejected" and report["actions"] == []
    assert report["world"]["state"]["serial"] is None and list(report["world"]["state"]["backups"]) == [BACKUP]


def test_a_state_changed_while_waiting_for_approval_is_not_overwritten(run_scenario, between):
    def fixed_by_hand(sb):
        sb.client("s3").put_object(
            Bucket=STATE_BUCKET,
            Key=STATE_KEY,
            Body=json.dumps({"version": 4, "serial": 14, "lineage": LINEAGE, "outputs": {}, "resources": []}).encode(),
        )

    between(before_answer=fixed_by_hand)
    report = run_scenario(
        {
            "world": {"state": {"body": BROKEN, "backup": {"serial": 12}}},
            "steps": [RESTORE, {"approve": "restore-terraform-state", "by": "approvers/alice"}],
        }
    )
    out = only_run(report, "-restore-terraform-state")
    assert out["outcome"] == "target_changed" and "nothing was written" in out["message"]
    assert report["world"]["state"]["serial"] == 14 and list(report["world"]["state"]["backups"]) == [BACKUP]
