"""Runbook check-state-lock on moto: both lock kinds, staleness, one page per lock ID, resolve when gone."""

import json
from datetime import timedelta

import pytest

from catalog import RUNBOOKS
from lambdas.diagnosis import diagnose
from lambdas.errors import InvalidInput
from lambdas.logic.store import Store
from lambdas.runbooks import parse_input
from lambdas.runbooks.check_state_lock import check_locks
from lambdas.settings import Settings
from sandbox.world import state_lock as locks_world
from sandbox.world import terraform_state as state_world
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME, item

RUNBOOK = RUNBOOKS["check-state-lock"]
LOCK_PATH = "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"
LOCK_TABLE = "terraform-state-lock"
STATE_BUCKET, TFLOCK = "lecture-dhbw-terraform-state", "lecture-dhbw/terraform.tfstate.tflock"
LOCK_ID = "a1b2c3d4-0000-4000-8000-000000000001"
PAGED_KEY = (f"alerts#check-state-lock#{LOCK_PATH}", "alerts")


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def given(session, dhbw):
    """The state bucket, the shared lock table with the state's -md5 digest item, and these locks."""

    def build(*locks: dict):
        state_world.build(session.client, dhbw, state_world.TerraformStateWorld(), ACCOUNT, REGION)
        locks_world.build(session.client, dhbw, [locks_world.LockWorld(**lock) for lock in locks], ACCOUNT, REGION, now=NOW)

    return build


@pytest.fixture
def check(settings, session, table):
    def call(raw=None, *, now=None):
        inp = parse_input(RUNBOOK, raw or {"lock_path": LOCK_PATH})
        return check_locks(
            inp,
            settings=settings,
            dynamodb=session.client("dynamodb"),
            s3=session.client("s3"),
            store=Store(table, now or NOW),
            now=now or NOW,
        )

    return call


def test_no_lock_is_no_lock_and_the_digest_item_is_never_a_lock(given, check, session):
    # given only the -md5 digest item in the lock table
    given()
    digest = session.client("dynamodb").get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": f"{LOCK_PATH}-md5"}})
    assert "Item" in digest
    # when
    result = check()
    # then
    assert result.outcome == "no_lock" and result.locks == [] and result.alerts == []
    assert result.proceed is False  # everything happens in guard


def test_stale_dynamodb_lock_is_paged_once_with_its_force_unlock_command(given, check, table):
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID, "who": "alice@laptop"})
    result = check()
    assert result.outcome == "stale_lock" and RUNBOOK.outcome("stale_lock").kind == "ok"
    [alert] = result.to_json()["alerts"]
    assert alert["action"] == "trigger" and alert["severity"] == "P2" and alert["key"] == f"state-lock/{LOCK_ID}"
    assert alert["details"]["ID"] == LOCK_ID and alert["details"]["Who"] == "alice@laptop"
    assert alert["details"]["Operation"] == "OperationTypeApply" and alert["details"]["kind"] == "dynamodb"
    assert alert["details"]["Created"].endswith("Z")
    assert alert["details"]["force_unlock"] == f"terraform force-unlock {LOCK_ID}"
    assert f"terraform force-unlock {LOCK_ID}" in alert["summary"]
    assert json.loads(item(table, *PAGED_KEY)["alerts"]).keys() == {f"state-lock/{LOCK_ID}"}
    # a second check while it is still there pages nothing new
    again = check(now=NOW + timedelta(minutes=15))
    assert again.outcome == "stale_lock" and again.alerts == []


def test_stale_tflock_is_paged(given, check):
    given({"kind": "s3", "age_minutes": 600, "id": LOCK_ID, "operation": "OperationTypePlan"})
    result = check()
    assert result.outcome == "stale_lock"
    [alert] = result.alerts
    assert alert.details["kind"] == "s3" and alert.details["Operation"] == "OperationTypePlan"


def test_fresh_lock_is_held_and_not_paged(given, check, table):
    given({"kind": "dynamodb", "age_minutes": 10, "id": LOCK_ID})
    result = check()
    assert result.outcome == "lock_held" and result.alerts == []
    assert "a run is going on" in result.message
    assert item(table, *PAGED_KEY) is None


def test_lock_just_past_the_threshold_is_stale(given, check):
    given({"kind": "dynamodb", "age_minutes": 121, "id": LOCK_ID})  # stale_lock_minutes defaults to 120
    assert check().outcome == "stale_lock"


def test_page_resolves_when_the_lock_is_gone(given, check, session, table):
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID})
    check()
    # when the lock is released (terraform force-unlock by a person)
    session.client("dynamodb").delete_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    result = check(now=NOW + timedelta(minutes=15))
    # then
    assert result.outcome == "no_lock"
    [alert] = result.alerts
    assert (alert.action, alert.key) == ("resolve", f"state-lock/{LOCK_ID}")
    assert item(table, *PAGED_KEY) is None
    assert check(now=NOW + timedelta(minutes=30)).alerts == []  # resolved once


def test_a_new_lock_after_a_stale_one_pages_the_new_id_and_resolves_the_old(given, check, session):
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID})
    check()
    locks_world_info = session.client("dynamodb").get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    info = json.loads(locks_world_info["Item"]["Info"]["S"])
    info["ID"] = "b2c3d4e5-0000-4000-8000-000000000002"
    session.client("dynamodb").put_item(TableName=LOCK_TABLE, Item={"LockID": {"S": LOCK_PATH}, "Info": {"S": json.dumps(info)}})
    result = check()
    assert sorted((a.action, a.key) for a in result.alerts) == [
        ("resolve", f"state-lock/{LOCK_ID}"),
        ("trigger", "state-lock/b2c3d4e5-0000-4000-8000-000000000002"),
    ]


def test_both_kinds_with_the_same_id_are_one_page(given, check):
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID}, {"kind": "s3", "age_minutes": 180, "id": LOCK_ID})
    result = check()
    [alert] = result.alerts
    assert alert.details["kind"] == ["dynamodb", "s3"]
    assert [lk.kind for lk in result.locks] == ["dynamodb", "s3"]


def test_the_check_never_removes_a_lock(given, check, session):
    given({"kind": "dynamodb", "age_minutes": 999, "id": LOCK_ID}, {"kind": "s3", "age_minutes": 999, "id": LOCK_ID})
    check()
    assert "Item" in session.client("dynamodb").get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    assert session.client("s3").head_object(Bucket=STATE_BUCKET, Key=TFLOCK)


def test_nanosecond_created_times_from_go_are_understood(given, check, session):
    given({"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID})
    got = session.client("dynamodb").get_item(TableName=LOCK_TABLE, Key={"LockID": {"S": LOCK_PATH}})
    info = json.loads(got["Item"]["Info"]["S"])
    info["Created"] = (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    session.client("dynamodb").put_item(TableName=LOCK_TABLE, Item={"LockID": {"S": LOCK_PATH}, "Info": {"S": json.dumps(info)}})
    result = check()
    assert result.outcome == "stale_lock" and result.locks[0].age_minutes == 180.0


def test_another_lock_path_is_refused(given, check):
    given()
    with pytest.raises(InvalidInput, match="is not the configured state of customer dhbw"):
        check({"lock_path": "someone-elses-bucket/terraform.tfstate"})


def test_diagnosis_lists_the_current_locks_never_the_digest(session, dhbw):
    # the diagnosis runs at the page's time: locks made now
    state_world.build(session.client, dhbw, state_world.TerraformStateWorld(), ACCOUNT, REGION)
    locks_world.build(session.client, dhbw, [locks_world.LockWorld(kind="s3", age_minutes=5, id=LOCK_ID)], ACCOUNT, REGION)
    result = diagnose("state_lock", session.client, dhbw, LOCK_PATH)
    assert [(lk["kind"], lk["id"], lk["stale"]) for lk in result["locks"]] == [("s3", LOCK_ID, False)]


def test_terraform_state_diagnosis_shows_serial_lineage_and_versioning(session, dhbw):
    state_world.build(session.client, dhbw, state_world.TerraformStateWorld(serial=42), ACCOUNT, REGION)
    result = diagnose("terraform_state", session.client, dhbw, "lecture-dhbw/terraform.tfstate")
    assert (result["serial"], result["lineage"], result["version"]) == (42, state_world.DEFAULT_LINEAGE, 4)
    assert result["versioning"] == "Enabled" and result["size"] > 0 and result["last_modified"]
