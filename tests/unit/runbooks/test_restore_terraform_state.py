"""Runbook restore-terraform-state on moto: guard checks the backup against the state and shows the difference for
approval; act keeps the corrupted state first, then writes the backup only over the state guard read."""

import hashlib
import json

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.runbooks import parse_input
from lambdas.runbooks.restore_terraform_state import apply_restore, check_plan, plan_restore
from lambdas.settings import Settings
from sandbox.world import state_lock as locks_world
from sandbox.world import terraform_state as state_world
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME

RUNBOOK = RUNBOOKS["restore-terraform-state"]
STATE_BUCKET, STATE_KEY = "lecture-dhbw-terraform-state", "lecture-dhbw/terraform.tfstate"
BACKUP_BUCKET, BACKUP = "terraform-state-backup", "lecture-dhbw/terraform.tfstate.backup"
STARTED = "2026-11-26T09:14:05.123Z"
CORRUPTED = "lecture-dhbw/terraform.tfstate.corrupted-20261126T091405Z"
LOCK_TABLE, LOCK_PATH = "terraform-state-lock", f"{STATE_BUCKET}/{STATE_KEY}"
LINEAGE, OTHER_LINEAGE = state_world.DEFAULT_LINEAGE, "9d0e4b2c-1a3f-4c5d-8e6f-7a8b9c0d1e2f"
BROKEN = '{"version": 4, "serial": 13, "lineage": "3f1c2a9e-7d4b-4e2a'  # an apply cut off mid-write


def body(serial: int, lineage: str = LINEAGE, resources: int = 0) -> bytes:
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.5",
            "serial": serial,
            "lineage": lineage,
            "outputs": {},
            "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": f"b{i}"} for i in range(resources)],
        }
    ).encode()


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def s3(session):
    return session.client("s3")


@pytest.fixture
def dynamodb(session):
    return session.client("dynamodb")


@pytest.fixture
def given(session, dhbw, s3, monkeypatch):
    """The state (this body), the backup bucket with .backup (this body), the lock table with the digest item."""

    class Patches:
        set = staticmethod(monkeypatch.setattr)

    state_world.install(Patches)  # CopySourceIfMatch as S3 answers it

    def build(state: bytes | None, backup: bytes | None, *, locks=(), **backups: bytes):
        state_world.build(session.client, dhbw, state_world.TerraformStateWorld(exists=False), ACCOUNT, REGION)
        locks_world.build(session.client, dhbw, [locks_world.LockWorld(**lk) for lk in locks], ACCOUNT, REGION, now=NOW)
        if state is not None:
            s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=state)
        if backup is not None:
            s3.put_object(Bucket=BACKUP_BUCKET, Key=BACKUP, Body=backup)
        for suffix, content in backups.items():
            s3.put_object(Bucket=BACKUP_BUCKET, Key=f"lecture-dhbw/terraform.tfstate.{suffix}", Body=content)

    return build


@pytest.fixture
def guard(settings, s3, dynamodb, ssm):
    def call(raw=None):
        inp = parse_input(RUNBOOK, raw or {"reason": "state corrupted by an interrupted apply"})
        return plan_restore(inp, settings=settings, s3=s3, dynamodb=dynamodb, ssm=ssm, now=NOW, started=STARTED)

    return call


@pytest.fixture
def act(dhbw, s3, dynamodb):
    def call(plan, *, s3_client=None):
        checked = check_plan(plan.to_json(), dhbw)
        return apply_restore(
            checked,
            s3=s3_client or s3,
            dynamodb=dynamodb,
            config=dhbw,
            now=NOW,
            approval={"answer": "approved", "by": "alice", "comment": "ok"},
        )

    return call


def read(s3, bucket, key) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def backup_keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BACKUP_BUCKET).get("Contents", [])]


def digest(dynamodb) -> str:
    return dynamodb.get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": f"{LOCK_PATH}-md5"}})["Item"]["Digest"]["S"]


def test_a_corrupted_state_is_kept_first_then_the_backup_is_restored(given, guard, act, s3, dynamodb):
    # given a state cut off mid-write and a good backup
    good = body(12, resources=3)
    given(BROKEN.encode(), good)
    # when guard plans
    plan = guard()
    # then it asks for approval showing the backup and what the state is now; nothing is written yet
    assert plan.proceed is True and plan.approval_summary and len(plan.approval_summary) <= 1000
    assert "serial 12" in plan.approval_summary and "3 resources" in plan.approval_summary
    assert "not JSON" in plan.approval_summary and CORRUPTED in plan.approval_summary
    assert any("lineage was not compared" in n for n in plan.notes)
    assert backup_keys(s3) == [BACKUP]
    # when approved
    done = act(plan)
    # then the corrupted state was copied to its own dated key, then the backup written over the state
    assert done.outcome == "restored" and "approved by alice" in done.message
    assert read(s3, BACKUP_BUCKET, CORRUPTED) == BROKEN.encode()
    assert read(s3, STATE_BUCKET, STATE_KEY) == good
    assert list(done.written) == [f"s3://{BACKUP_BUCKET}/{CORRUPTED}", f"s3://{STATE_BUCKET}/{STATE_KEY}"]
    # and Terraform's digest item matches the restored state
    assert digest(dynamodb) == hashlib.md5(good, usedforsecurity=False).hexdigest()
    assert done.digest_updated is True


def test_the_difference_in_serial_and_resources_is_shown(given, guard):
    given(body(15, resources=2), body(12, resources=5))
    plan = guard()
    assert plan.serial_change == -3 and plan.resource_change == 3
    assert "serial 15 -> 12 (-3)" in plan.approval_summary and "resources 2 -> 5 (+3)" in plan.approval_summary


def test_a_backup_of_another_lineage_is_refused_and_nothing_is_written(given, guard, s3):
    given(body(15), body(12, lineage=OTHER_LINEAGE))
    plan = guard()
    assert plan.proceed is False and plan.outcome == "lineage_changed" and plan.approval_summary is None
    assert RUNBOOK.outcome("lineage_changed").kind == "refused"
    assert OTHER_LINEAGE in plan.message and LINEAGE in plan.message and "allow_lineage_change" in plan.message
    assert backup_keys(s3) == [BACKUP] and read(s3, STATE_BUCKET, STATE_KEY) == body(15)


def test_a_lineage_change_is_restored_when_explicitly_allowed(given, guard, act, s3):
    given(body(15), body(12, lineage=OTHER_LINEAGE))
    plan = guard({"reason": "the state was replaced by mistake", "allow_lineage_change": True})
    assert plan.proceed is True and any("lineage changes" in n for n in plan.notes)
    done = act(plan)
    assert done.outcome == "restored" and read(s3, STATE_BUCKET, STATE_KEY) == body(12, lineage=OTHER_LINEAGE)
    assert read(s3, BACKUP_BUCKET, CORRUPTED) == body(15)


def test_a_dated_backup_can_be_chosen(given, guard, act, s3):
    given(BROKEN.encode(), body(12), **{"20261120": body(9, resources=1)})
    plan = guard({"backup": "20261120", "reason": "the last backup is bad too"})
    assert plan.backup_key == "lecture-dhbw/terraform.tfstate.20261120" and plan.backup.serial == 9
    act(plan)
    assert read(s3, STATE_BUCKET, STATE_KEY) == body(9, resources=1)


@pytest.mark.parametrize(
    "backup,problem",
    [
        (b'{"version": 3, "serial": 1, "lineage": "x", "modules": []}', "version 4"),
        (b"not json", "not JSON"),
        (None, "does not exist"),
    ],
)
def test_an_invalid_or_missing_backup_is_refused(given, guard, s3, backup, problem):
    given(BROKEN.encode(), backup)
    plan = guard()
    assert plan.outcome == "backup_invalid" and problem in plan.message and plan.approval_summary is None
    assert read(s3, STATE_BUCKET, STATE_KEY) == BROKEN.encode()


def test_a_held_lock_refuses_the_restore(given, guard):
    given(BROKEN.encode(), body(12), locks=[{"kind": "s3", "id": "a1b2c3d4-0000-4000-8000-000000000001"}])
    plan = guard()
    assert plan.outcome == "state_locked" and "force-unlock-state" in plan.message and plan.approval_summary is None


def test_a_state_that_already_is_the_backup_is_left_alone(given, guard):
    given(body(12), body(12))
    assert guard().outcome == "noop"


def test_a_state_changed_after_approval_is_not_overwritten_nor_copied(given, guard, act, s3):
    given(BROKEN.encode(), body(12))
    plan = guard()
    s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=body(14))  # someone fixed it by hand meanwhile
    done = act(plan)
    assert done.outcome == "target_changed" and "nothing was written" in done.message
    assert read(s3, STATE_BUCKET, STATE_KEY) == body(14) and backup_keys(s3) == [BACKUP]


def test_the_write_is_conditional_on_the_state_guard_read(given, guard, act, s3):
    # given a state that changes right after the corrupted copy (the race only the conditional put catches)
    given(BROKEN.encode(), body(12))
    plan = guard()

    class ChangesAfterCopy:
        def __getattr__(self, name):
            return getattr(s3, name)

        def copy_object(self, **kwargs):
            copied = s3.copy_object(**kwargs)
            s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=body(14))
            return copied

    done = act(plan, s3_client=ChangesAfterCopy())
    assert done.outcome == "target_changed" and "the state was not" in done.message
    assert read(s3, STATE_BUCKET, STATE_KEY) == body(14)
    assert read(s3, BACKUP_BUCKET, CORRUPTED) == BROKEN.encode()


def test_a_missing_state_is_restored_only_if_still_missing(given, guard, act, s3):
    given(None, body(12))
    plan = guard()
    assert plan.proceed is True and "no current state to keep" in plan.approval_summary
    done = act(plan)
    assert done.outcome == "restored" and read(s3, STATE_BUCKET, STATE_KEY) == body(12)
    assert backup_keys(s3) == [BACKUP]


@pytest.mark.parametrize("mode,outcome", [("dry-run", "would_restore"), ("off", "refused")])
def test_dry_run_and_off_write_nothing_and_ask_no_approval(given, guard, ssm, s3, mode, outcome):
    given(BROKEN.encode(), body(12))
    ssm.put_parameter(Name=MODE_PARAMETER, Value=mode, Type="String", Overwrite=True)
    plan = guard()
    assert plan.proceed is False and plan.outcome == outcome and plan.approval_summary is None
    assert read(s3, STATE_BUCKET, STATE_KEY) == BROKEN.encode() and backup_keys(s3) == [BACKUP]


@pytest.mark.parametrize(
    "raw,field",
    [
        ({"backup": "2026-11-20", "reason": "bad"}, "backup"),
        ({"backup": "20261340", "reason": "bad"}, "backup"),
        ({"backup": ".backup"}, "reason"),
        ({"reason": "bad", "allow_lineage_change": "maybe"}, "allow_lineage_change"),
    ],
)
def test_bad_input_is_refused_naming_the_field(raw, field):
    with pytest.raises(InvalidInput, match=field):
        parse_input(RUNBOOK, raw)


def test_another_state_key_is_refused(given, guard):
    given(BROKEN.encode(), body(12))
    with pytest.raises(InvalidInput, match="not the configured state"):
        guard({"reason": "x" * 5, "state_key": "lecture-edt/terraform.tfstate"})


@pytest.mark.parametrize(
    "change",
    [
        {"corrupted_key": STATE_KEY},
        {"backup_key": "lecture-dhbw/terraform.tfstate.corrupted-20261126T091405Z"},
        {"state_bucket": "someone-elses-bucket"},
        {"proceed": False},
    ],
)
def test_a_forged_plan_writes_nothing(given, guard, dhbw, s3, change):
    given(BROKEN.encode(), body(12))
    with pytest.raises(InvalidPlan):
        check_plan({**guard().to_json(), **change}, dhbw)
    assert read(s3, STATE_BUCKET, STATE_KEY) == BROKEN.encode()


def test_act_checks_lineage_and_serial_again_on_the_objects_a_forged_plan_cannot_change(given, guard, act, s3):
    # given a state and a backup of another lineage: guard refuses (lineage_changed)
    given(body(13), body(12, lineage="0c5d8f2b-aaaa-4e2a-9b1f-000000000000"))
    refused = guard()
    assert refused.outcome == "lineage_changed"
    # when the same plan is sent to act saying it may proceed and the lineages agree (the state's forged)
    forged = refused.model_copy(deep=True)
    forged.proceed, forged.outcome, forged.message = True, None, None
    forged.state.lineage = forged.backup.lineage
    done = act(forged)
    # then act reads both objects itself: the lineage differs, nothing is written
    assert done.outcome == "lineage_changed" and "Nothing was restored" in done.message, done.message
    assert read(s3, STATE_BUCKET, STATE_KEY) == body(13) and backup_keys(s3) == [BACKUP]


def test_act_refuses_a_serial_change_other_than_the_one_approved(given, guard, act, s3):
    given(body(15), body(12))
    plan = guard()
    plan.serial_change = -1  # the approver was shown another difference than the objects hold
    done = act(plan)
    assert done.outcome == "target_changed" and "not the -1 that was approved" in done.message
    assert read(s3, STATE_BUCKET, STATE_KEY) == body(15)
