"""Runbook backup-terraform-state on moto: guard (plan_backup), act (apply_backup), verify (check_backup)."""

import json

import pytest

from catalog import RUNBOOKS
from lambdas.errors import InvalidInput, InvalidPlan
from lambdas.runbooks import parse_input
from lambdas.runbooks.backup_terraform_state import apply_backup, check_backup, check_plan, plan_backup
from lambdas.settings import Settings
from sandbox.world import terraform_state as world
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, NOW, REGION, TABLE_NAME

RUNBOOK = RUNBOOKS["backup-terraform-state"]
STATE_BUCKET, STATE_KEY = "lecture-dhbw-terraform-state", "lecture-dhbw/terraform.tfstate"
BACKUP_BUCKET = "terraform-state-backup"
DATED, BACKUP = "lecture-dhbw/terraform.tfstate.20261126", "lecture-dhbw/terraform.tfstate.backup"
STARTED = "2026-11-26T02:30:00.123Z"
LINEAGE, OTHER_LINEAGE = world.DEFAULT_LINEAGE, "9d0e4b2c-1a3f-4c5d-8e6f-7a8b9c0d1e2f"


@pytest.fixture
def s3(session):
    return session.client("s3")


@pytest.fixture
def settings(dhbw):
    return Settings(customer=dhbw, table_name=TABLE_NAME, mode_parameter=MODE_PARAMETER)


@pytest.fixture
def given(session, dhbw, monkeypatch):
    """The world module builds the state bucket, the state and the last backup; CopySourceIfMatch as in S3."""

    class Patches:
        set = staticmethod(monkeypatch.setattr)

    world.install(Patches)

    def build(**spec):
        world.build(session.client, dhbw, world.TerraformStateWorld(**spec), ACCOUNT, REGION)

    return build


@pytest.fixture
def guard(settings, s3, ssm):
    def call(raw=None, *, started=STARTED):
        inp = parse_input(RUNBOOK, raw or {"state_key": STATE_KEY, "reason": "daily"})
        return plan_backup(inp, settings=settings, s3=s3, ssm=ssm, now=NOW, started=started)

    return call


@pytest.fixture
def run(guard, s3, dhbw):
    """guard -> act (through act's plan check, as the Lambda does) -> verify, like the state machine."""

    def call(raw=None):
        plan = guard(raw)
        if not plan.proceed:
            return plan
        done = apply_backup(check_plan(plan.to_json(), dhbw), s3=s3)
        return check_backup(done, s3=s3) if done.verify else done

    return call


def read(s3, key, bucket=BACKUP_BUCKET) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BACKUP_BUCKET).get("Contents", []))


def put_state(s3, serial: int, lineage: str = LINEAGE) -> None:
    s3.put_object(Bucket=STATE_BUCKET, Key=STATE_KEY, Body=world.state_body(serial, lineage).encode())


# --- a backup ------------------------------------------------------------------------------------------


def test_first_backup_writes_the_dated_key_and_backup(given, run, s3):
    # given a state at serial 12 and no backup yet
    given(serial=12)
    # when
    result = run()
    # then both keys hold exactly the state
    assert result.outcome == "backed_up" and result.settled is True
    assert keys(s3) == [DATED, BACKUP]
    state = s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read()
    for key in (DATED, BACKUP):
        assert s3.get_object(Bucket=BACKUP_BUCKET, Key=key)["Body"].read() == state
    assert "s3://terraform-state-backup/lecture-dhbw/terraform.tfstate.backup" in result.message
    assert result.warnings == [] and result.alerts == []


def test_daily_backup_of_a_newer_serial_replaces_backup(given, run, s3):
    given(serial=13, backup={"serial": 12})
    result = run()
    assert result.outcome == "backed_up"
    assert read(s3, BACKUP)["serial"] == 13 and read(s3, DATED)["serial"] == 13
    assert RUNBOOK.outcome("backed_up").kind == "ok"


def test_versioned_state_copies_the_checked_version_even_if_it_changed_since(given, guard, s3, dhbw):
    # given a versioned state checked at serial 13
    given(serial=13, backup={"serial": 12})
    plan = guard()
    assert plan.state.version_id
    # when Terraform writes serial 14 before the copy
    put_state(s3, 14)
    done = apply_backup(check_plan(plan.to_json(), dhbw), s3=s3)
    # then the copies are the version that was checked
    assert read(s3, BACKUP)["serial"] == 13 and read(s3, DATED)["serial"] == 13
    assert check_backup(done, s3=s3).outcome == "backed_up"


def test_unversioned_state_that_changed_before_the_copy_fails_clearly_and_writes_nothing(given, guard, s3, dhbw):
    given(serial=13, backup={"serial": 12}, versioning=False)
    plan = guard()
    put_state(s3, 14)
    done = apply_backup(check_plan(plan.to_json(), dhbw), s3=s3)
    assert done.outcome == "state_changed" and done.verify is False
    assert "changed between the check" in done.message and "nothing was written" in done.message
    assert RUNBOOK.outcome("state_changed").kind == "failed"
    assert keys(s3) == [BACKUP] and read(s3, BACKUP)["serial"] == 12


# --- what is refused -------------------------------------------------------------------------------------


def test_serial_regression_is_refused_and_backup_left_untouched(given, run, s3):
    given(serial=11, backup={"serial": 12})
    result = run()
    assert result.outcome == "serial_regressed" and result.proceed is False
    assert RUNBOOK.needs_person("serial_regressed")  # record pages it
    assert "serial 11 is lower than the last backup's serial 12" in result.message
    assert keys(s3) == [BACKUP] and read(s3, BACKUP)["serial"] == 12


def test_lineage_change_is_refused_and_backup_left_untouched(given, run, s3):
    given(serial=14, lineage=OTHER_LINEAGE, backup={"serial": 12})
    result = run()
    assert result.outcome == "lineage_changed" and RUNBOOK.needs_person("lineage_changed")
    assert OTHER_LINEAGE in result.message and LINEAGE in result.message
    assert "serial 14" in result.message and "serial 12" in result.message
    assert keys(s3) == [BACKUP] and read(s3, BACKUP)["lineage"] == LINEAGE


def test_unchanged_state_is_unchanged_and_not_copied(given, run, s3):
    given(serial=12, backup={"serial": 12})
    result = run()
    assert result.outcome == "unchanged" and RUNBOOK.outcome("unchanged").kind == "skipped"
    assert keys(s3) == [BACKUP]


def test_same_serial_with_another_digest_is_copied(given, run, s3):
    given(serial=12, backup={"serial": 12})
    s3.put_object(
        Bucket=STATE_BUCKET,
        Key=STATE_KEY,
        Body=world.state_body(12, LINEAGE).replace('"outputs": {}', '"outputs": {"x": 1}').encode(),
    )
    result = run()
    assert result.outcome == "backed_up"
    assert read(s3, BACKUP)["outputs"] == {"x": 1}


def test_bucket_without_versioning_warns_and_asks_for_a_p3_status_update(given, run, s3):
    given(serial=13, backup={"serial": 12}, versioning=False)
    result = run()
    assert result.outcome == "backed_up"  # the backup is still made
    assert result.warnings and "no versioning" in result.warnings[0]
    assert "warning: the state bucket lecture-dhbw-terraform-state has no versioning" in result.message
    [alert] = result.to_json()["alerts"]
    assert alert["severity"] == "P3" and alert["action"] == "trigger"
    assert alert["key"] == f"state-versioning/{STATE_BUCKET}"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("this is not json", "is not JSON"),
        (json.dumps({"version": 3, "serial": 1, "lineage": LINEAGE}), "not a Terraform state of version 4"),
    ],
)
def test_invalid_state_fails_clearly_and_copies_nothing(given, run, s3, body, expected):
    given(body=body, backup={"serial": 12})
    result = run()
    assert result.outcome == "state_invalid" and expected in result.message
    assert RUNBOOK.outcome("state_invalid").kind == "failed"
    assert keys(s3) == [BACKUP]


def test_missing_state_fails_clearly(given, run, s3):
    given(exists=False)
    result = run()
    assert result.outcome == "state_missing"
    assert "s3://lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate does not exist" in result.message
    assert keys(s3) == []


# --- modes, input, forged plans ----------------------------------------------------------------------------


def test_dry_run_says_what_it_would_copy_and_copies_nothing(given, run, s3):
    given(serial=13, backup={"serial": 12})
    result = run({"state_key": STATE_KEY, "dry_run": True})
    assert result.outcome == "would_back_up" and DATED in result.message
    assert keys(s3) == [BACKUP]


def test_mode_off_refuses(given, run, s3, ssm):
    given(serial=13)
    ssm.put_parameter(Name=MODE_PARAMETER, Value="off", Overwrite=True)
    result = run()
    assert result.outcome == "refused" and "automation is off" in result.message
    assert keys(s3) == []


def test_another_state_key_is_refused(given, guard):
    given()
    with pytest.raises(InvalidInput, match="is not the configured state of customer dhbw"):
        guard({"state_key": "lecture-edt/terraform.tfstate"})


@pytest.mark.parametrize(
    "field, value",
    [
        ("dated_key", "lecture-edt/terraform.tfstate.20261126"),
        ("backup_bucket", "someone-elses-bucket"),
        ("state_key", "lecture-edt/terraform.tfstate"),
    ],
)
def test_act_rejects_a_forged_plan_and_copies_nothing(given, guard, s3, dhbw, field, value):
    given(serial=13)
    forged = {**guard().to_json(), field: value}
    with pytest.raises(InvalidPlan, match="nothing was copied"):
        check_plan(forged, dhbw)
    assert keys(s3) == []


def test_dated_key_follows_the_executions_start(given, guard):
    given()
    assert guard(started="2026-12-31T23:59:59Z").dated_key == "lecture-dhbw/terraform.tfstate.20261231"


def test_copies_name_the_checked_etag_and_version_and_carry_no_acl(given, run, s3):
    given(serial=13)
    copies = []
    s3.meta.events.register("provide-client-params.s3.CopyObject", lambda params, **kw: copies.append(dict(params)))
    run()
    version = s3.head_object(Bucket=STATE_BUCKET, Key=STATE_KEY)
    assert [c["Key"] for c in copies] == [DATED, BACKUP]
    for c in copies:
        # the backup bucket may be another account's (bucket owner enforced): no ACL on any copy
        assert not {"ACL", "GrantFullControl", "GrantRead"} & set(c)
        assert c["CopySourceIfMatch"] == version["ETag"]
        assert c["CopySource"] == {"Bucket": STATE_BUCKET, "Key": STATE_KEY, "VersionId": version["VersionId"]}
