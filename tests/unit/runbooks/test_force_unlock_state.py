"""Runbook force-unlock-state on moto: guard shows the lock for approval, act removes only that same lock (both kinds),
never the -md5 digest item; a lock that changed meanwhile is left alone."""

import json

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks.check_state_lock import check_locks
from lambdas.runbooks.force_unlock_state import apply_unlock, check_plan, plan_unlock
from lambdas.settings import Settings
from sandbox.world import state_lock as locks_world
from sandbox.world import terraform_state as state_world
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME

RUNBOOK = RUNBOOKS["force-unlock-state"]
LOCK_PATH = "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"
LOCK_TABLE = "terraform-state-lock"
STATE_BUCKET, TFLOCK = "lecture-dhbw-terraform-state", "lecture-dhbw/terraform.tfstate.tflock"
LOCK_ID = "a1b2c3d4-0000-4000-8000-000000000001"
OTHER_ID = "ffffeeee-0000-4000-8000-000000000002"
DIGEST = "0f343b0931126a20f133d67c2b018a3b"  # what the world puts in the -md5 item


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def dynamodb(session):
    return session.client("dynamodb")


@pytest.fixture
def s3(session):
    return session.client("s3")


@pytest.fixture
def given(session, dhbw):
    """The state bucket, the shared lock table with the state's -md5 digest item, and these locks."""

    def build(*locks: dict):
        state_world.build(session.client, dhbw, state_world.TerraformStateWorld(), ACCOUNT, REGION)
        locks_world.build(session.client, dhbw, [locks_world.LockWorld(**lock) for lock in locks], ACCOUNT, REGION, now=NOW)

    return build


@pytest.fixture
def guard(settings, dynamodb, s3, ssm):
    def call(raw=None):
        inp = parse_input(RUNBOOK, raw or {"lock_id": LOCK_ID, "reason": "stale, no run is going on"})
        return plan_unlock(inp, settings=settings, dynamodb=dynamodb, s3=s3, ssm=ssm, now=NOW)

    return call


@pytest.fixture
def act(dhbw, dynamodb, s3):
    """act as the Lambda runs it: the plan's JSON through act's own check, then the approval's answer."""

    def call(plan, *, dynamodb_client=None, s3_client=None):
        checked = check_plan(plan.to_json(), dhbw)
        return apply_unlock(
            checked,
            dynamodb=dynamodb_client or dynamodb,
            s3=s3_client or s3,
            now=NOW,
            approval={"answer": "approved", "by": "alice", "comment": "checked: no run"},
        )

    return call


def lock_item(dynamodb):
    return dynamodb.get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}}).get("Item")


def digest_item(dynamodb):
    return dynamodb.get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": f"{LOCK_PATH}-md5"}}).get("Item")


def tflock_keys(s3):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=TFLOCK).get("Contents", [])]


def put_lock(dynamodb, lock_id, who="bob@laptop"):
    info = json.dumps(
        {
            "ID": lock_id,
            "Operation": "OperationTypePlan",
            "Info": "",
            "Who": who,
            "Version": "1.9.5",
            "Created": "2026-11-26T09:14:00.000000Z",
            "Path": LOCK_PATH,
        }
    )
    dynamodb.put_item(TableName=LOCK_TABLE, Item={"LockID": {"S": LOCK_PATH}, "Info": {"S": info}})
    return info


def test_guard_shows_the_lock_for_approval_and_act_removes_it_but_never_the_digest_item(given, guard, act, dynamodb):
    # given a stale DynamoDB lock and the state's digest item
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID, "who": "ci@runner-7"})
    # when guard plans
    plan = guard()
    # then it asks for approval, showing ID, Who, Operation and Created, and changes nothing yet
    assert plan.proceed is True and plan.outcome is None
    summary = plan.approval_summary
    assert summary and len(summary) <= 1000
    for shown in (LOCK_ID, "Who ci@runner-7", "Operation OperationTypeApply", "Created 2026-11-26T06:15:00", LOCK_PATH):
        assert shown in summary
    assert lock_item(dynamodb) is not None
    # when approved, act removes exactly that lock
    done = act(plan)
    assert done.outcome == "unlocked" and done.removed == [f"dynamodb {LOCK_TABLE}/{LOCK_PATH}"]
    assert "approved by alice" in done.message
    assert lock_item(dynamodb) is None
    # and the digest item is untouched
    assert digest_item(dynamodb) == {"LockID": {"S": f"{LOCK_PATH}-md5"}, "Digest": {"S": DIGEST}}


def test_an_s3_tflock_is_removed_only_with_the_etag_shown(given, guard, act, s3, dynamodb):
    given({"kind": "s3", "age_minutes": 200, "id": LOCK_ID})
    plan = guard()
    assert plan.proceed is True and plan.tflock_etag and plan.dynamodb_info is None
    assert f"s3://{STATE_BUCKET}/{TFLOCK}" in plan.approval_summary
    done = act(plan)
    assert done.outcome == "unlocked" and done.removed == [f"s3 s3://{STATE_BUCKET}/{TFLOCK}"]
    assert tflock_keys(s3) == []
    assert digest_item(dynamodb) is not None


def test_both_kinds_of_the_same_lock_are_removed(given, guard, act, s3, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID}, {"kind": "s3", "id": LOCK_ID})
    done = act(guard())
    assert done.outcome == "unlocked" and len(done.removed) == 2
    assert lock_item(dynamodb) is None and tflock_keys(s3) == []
    assert digest_item(dynamodb) is not None


def test_a_lock_of_another_kind_with_another_id_is_left_alone(given, guard, act, s3, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID}, {"kind": "s3", "id": OTHER_ID})
    plan = guard()
    assert plan.proceed is True and plan.tflock_etag is None
    assert any(OTHER_ID in note and "left alone" in note for note in plan.notes)
    done = act(plan)
    assert done.outcome == "unlocked" and lock_item(dynamodb) is None
    assert tflock_keys(s3) == [TFLOCK]


def test_a_held_lock_with_another_id_is_refused_without_asking(given, guard, dynamodb):
    given({"kind": "dynamodb", "id": OTHER_ID, "who": "bob@laptop"})
    plan = guard()
    assert plan.proceed is False and plan.outcome == "lock_changed" and plan.approval_summary is None
    assert RUNBOOK.outcome("lock_changed").kind == "refused"
    assert OTHER_ID in plan.message and "bob@laptop" in plan.message
    assert lock_item(dynamodb) is not None


def test_no_lock_is_nothing_to_do(given, guard):
    given()
    plan = guard()
    assert plan.proceed is False and plan.outcome == "no_lock" and plan.approval_summary is None
    assert RUNBOOK.outcome("no_lock").kind == "skipped"


def test_a_lock_replaced_after_approval_is_not_removed(given, guard, act, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID})
    plan = guard()
    # meanwhile the stale lock was released and a new run took the lock
    dynamodb.delete_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    new_info = put_lock(dynamodb, OTHER_ID)
    done = act(plan)
    assert done.outcome == "target_changed" and done.removed == []
    assert OTHER_ID in done.message and "nothing was removed" in done.message
    assert lock_item(dynamodb)["Info"]["S"] == new_info


def test_a_tflock_rewritten_after_approval_is_not_removed(given, guard, act, s3):
    given({"kind": "s3", "id": LOCK_ID})
    plan = guard()
    s3.delete_object(Bucket=STATE_BUCKET, Key=TFLOCK)
    s3.put_object(Bucket=STATE_BUCKET, Key=TFLOCK, Body=json.dumps({"ID": OTHER_ID, "Who": "bob@laptop"}).encode())
    done = act(plan)
    assert done.outcome == "target_changed" and OTHER_ID in done.message
    assert json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=TFLOCK)["Body"].read())["ID"] == OTHER_ID


def test_a_lock_released_after_approval_ends_as_no_lock(given, guard, act, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID})
    plan = guard()
    dynamodb.delete_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    done = act(plan)
    assert done.outcome == "no_lock" and done.removed == [] and "released meanwhile" in done.message


class _ChangesAfterRead:
    """A client whose lock read returns the old lock, then a new run takes the lock before the delete: the race
    that only the conditional delete catches."""

    def __init__(self, real, change):
        self._real, self._change = real, change

    def __getattr__(self, name):
        return getattr(self._real, name)

    def get_item(self, **kwargs):
        got = self._real.get_item(**kwargs)
        self._change()
        return got

    def get_object(self, **kwargs):
        got = self._real.get_object(**kwargs)
        self._change()
        return got


def test_the_dynamodb_delete_is_conditional_on_the_info_shown(given, guard, act, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID})
    plan = guard()
    done = act(plan, dynamodb_client=_ChangesAfterRead(dynamodb, lambda: put_lock(dynamodb, OTHER_ID)))
    assert done.outcome == "target_changed" and "conditional delete refused" in done.message
    assert OTHER_ID in lock_item(dynamodb)["Info"]["S"]


def test_the_s3_delete_is_conditional_on_the_etag_shown(given, guard, act, s3):
    given({"kind": "s3", "id": LOCK_ID})
    plan = guard()

    def rewrite():
        return s3.put_object(Bucket=STATE_BUCKET, Key=TFLOCK, Body=json.dumps({"ID": OTHER_ID}).encode())

    done = act(plan, s3_client=_ChangesAfterRead(s3, rewrite))
    assert done.outcome == "target_changed" and "If-Match" in done.message
    assert json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=TFLOCK)["Body"].read())["ID"] == OTHER_ID


@pytest.mark.parametrize("mode,outcome", [("dry-run", "would_unlock"), ("off", "refused")])
def test_dry_run_and_off_remove_nothing_and_ask_no_approval(given, guard, ssm, dynamodb, mode, outcome):
    given({"kind": "dynamodb", "id": LOCK_ID})
    ssm.put_parameter(Name=MODE_PARAMETER, Value=mode, Type="String", Overwrite=True)
    plan = guard()
    assert plan.proceed is False and plan.outcome == outcome and plan.approval_summary is None
    assert lock_item(dynamodb) is not None


@pytest.mark.parametrize(
    "raw,field",
    [
        ({"reason": "stale"}, "lock_id"),
        ({"lock_id": LOCK_ID}, "reason"),
        ({"lock_id": "x; rm -rf /", "reason": "stale"}, "lock_id"),
        ({"lock_id": LOCK_ID, "reason": "stale", "lock": "x"}, "lock"),
    ],
)
def test_bad_input_is_refused_naming_the_field(raw, field):
    with pytest.raises(InvalidInput, match=field):
        parse_input(RUNBOOK, raw)


def test_another_states_lock_path_is_refused(given, guard, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID})
    with pytest.raises(InvalidInput, match="not the configured state"):
        guard({"lock_id": LOCK_ID, "reason": "stale", "lock_path": "other-bucket/other/terraform.tfstate"})
    assert lock_item(dynamodb) is not None


def test_a_forged_plan_removes_nothing(given, guard, dhbw, dynamodb):
    given({"kind": "dynamodb", "id": LOCK_ID})
    plan = guard().to_json()
    with pytest.raises(InvalidPlan):
        check_plan({**plan, "lock_path": f"{LOCK_PATH}-md5"}, dhbw)
    with pytest.raises(InvalidPlan):
        check_plan({**plan, "lock_id": OTHER_ID}, dhbw)  # the Info it would delete is not that lock's
    with pytest.raises(InvalidPlan):
        check_plan({**plan, "proceed": False}, dhbw)
    assert lock_item(dynamodb) is not None and digest_item(dynamodb) is not None


def test_the_stale_lock_page_carries_the_command_that_starts_this_runbook(given, settings, session, table):
    # given a stale lock, when check-state-lock pages it
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID})
    check = check_locks(
        parse_input(RUNBOOKS["check-state-lock"], {"lock_path": LOCK_PATH}),
        settings=settings,
        dynamodb=session.client("dynamodb"),
        s3=session.client("s3"),
        store=Store(table, NOW),
        now=NOW,
    )
    [alert] = check.to_json()["alerts"]
    command = (
        f'python cli.py start force-unlock-state -c dhbw lock_id={LOCK_ID} reason="stale lock, no Terraform run is going on"'
    )
    # then the page carries the exact command and the console input, and that input is valid for the runbook
    assert alert["details"]["start_force_unlock"] == command and command in alert["summary"]
    console = alert["details"]["console"]
    assert console["state_machine"] == "lecture-dhbw-force-unlock-state"
    assert json.loads(console["input"]) == {"lock_id": LOCK_ID, "reason": "stale lock, no Terraform run is going on"}
    assert parse_input(RUNBOOK, json.loads(console["input"])).lock_id == LOCK_ID
    assert len(alert["summary"]) < 1024  # nothing cut


def test_a_forged_tflock_etag_of_another_lock_removes_nothing(given, guard, act, s3):
    # given a plan for the DynamoDB lock, and a .tflock of another run whose ETag a forged plan names
    given({"kind": "dynamodb", "id": LOCK_ID}, {"kind": "s3", "id": OTHER_ID})
    plan = guard()
    plan.tflock_etag = s3.head_object(Bucket=STATE_BUCKET, Key=TFLOCK)["ETag"]
    done = act(plan)
    assert done.outcome == "target_changed" and OTHER_ID in done.message and done.removed == []
    assert tflock_keys(s3) == [TFLOCK]
