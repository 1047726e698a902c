"""IAM of the Terraform state runbooks, from the synthesized template (moto does not enforce IAM)."""

import pytest

from catalog import naming
from customers import load_customer
from tests.infra.conftest import resources


def _statements_of(template: dict, component: str) -> list[dict]:
    """Every statement of the role of function lecture-<c>-remediation-<component>."""
    functions = resources(template, "AWS::Lambda::Function").values()
    [fn] = [f for f in functions if f["Properties"].get("FunctionName", "").endswith(f"-remediation-{component}")]
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        st
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _by_action(statements: list[dict], prefix: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for st in statements:
        for action in _as_list(st["Action"]):
            if action.startswith(prefix):
                out.setdefault(action, []).append(st)
    return out


@pytest.mark.parametrize("customer", ["dhbw", "edt"])
def test_backup_reads_only_the_state_and_writes_only_under_the_customers_backup_prefix(templates, customer):
    c = load_customer(customer)
    s3 = _by_action(_statements_of(templates[customer], "backup-terraform-state"), "s3:")
    state = f"arn:aws:s3:::{c.terraform.state_bucket}/{c.terraform.state_key}"
    backups = f"arn:aws:s3:::terraform-state-backup/lecture-{customer}/*"
    assert set(s3) == {"s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketVersioning", "s3:ListBucket", "s3:PutObject"}
    [put] = s3["s3:PutObject"]
    assert _as_list(put["Resource"]) == [backups] and "Condition" not in put
    assert sorted(r for st in s3["s3:GetObject"] for r in _as_list(st["Resource"])) == sorted([state, backups])
    assert [r for st in s3["s3:GetObjectVersion"] for r in _as_list(st["Resource"])] == [state]
    [versioning] = s3["s3:GetBucketVersioning"]
    assert _as_list(versioning["Resource"]) == [f"arn:aws:s3:::{c.terraform.state_bucket}"]
    [listing] = s3["s3:ListBucket"]
    assert _as_list(listing["Resource"]) == ["arn:aws:s3:::terraform-state-backup"]
    assert listing["Condition"] == {"StringEquals": {"s3:prefix": f"lecture-{customer}/terraform.tfstate.backup"}}
    # no ACL writes, nothing on another customer's prefix or on a whole bucket
    everything = [r for sts in s3.values() for st in sts for r in _as_list(st["Resource"])]
    assert "*" not in everything and not any(a.startswith("s3:PutObjectAcl") for a in s3)


def test_lock_reads_are_limited_to_this_states_lock_id_in_the_shared_table(templates):
    c = load_customer("dhbw")
    statements = _statements_of(templates["dhbw"], "check-state-lock")
    table_arn = f"arn:aws:dynamodb:{c.region}:{c.account}:table/terraform-state-lock"
    on_lock_table = [st for st in statements if table_arn in _as_list(st["Resource"])]
    [get] = on_lock_table
    assert _as_list(get["Action"]) == ["dynamodb:GetItem"]
    assert get["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate"}
    }
    s3 = _by_action(statements, "s3:")
    tflock = "arn:aws:s3:::lecture-dhbw-terraform-state/lecture-dhbw/terraform.tfstate.tflock"
    assert tflock in [r for st in s3["s3:GetObject"] for r in _as_list(st["Resource"])]
    [listing] = s3["s3:ListBucket"]
    assert listing["Condition"] == {"StringEquals": {"s3:prefix": "lecture-dhbw/terraform.tfstate.tflock"}}


def test_page_reads_no_state_and_no_lock_the_kinds_have_no_alarms_to_diagnose(templates):
    statements = _statements_of(templates["dhbw"], "page")
    resources = [r for st in statements for r in _as_list(st["Resource"])]
    assert not any("terraform-state" in str(r) for r in resources)
    assert not any(a.startswith("s3:") for st in statements for a in _as_list(st["Action"]))


def test_the_lock_check_can_change_nothing_in_s3_or_the_lock_table(templates):
    statements = _statements_of(templates["dhbw"], "check-state-lock")
    s3 = _by_action(statements, "s3:")
    assert set(s3) == {"s3:GetObject", "s3:ListBucket"}
    dynamodb = [st for st in statements if "terraform-state-lock" in str(st["Resource"])]
    assert {a for st in dynamodb for a in _as_list(st["Action"])} == {"dynamodb:GetItem"}


def test_the_paged_locks_row_prefix_is_granted(templates):
    statements = _statements_of(templates["dhbw"], "check-state-lock")
    leading = [
        st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for st in statements
        if "ForAllValues:StringLike" in st.get("Condition", {})
    ]
    assert any(
        "alerts#*" in _as_list(keys) and "dynamodb:PutItem" in _as_list(st_actions)
        for keys, st_actions in zip(
            leading, [st["Action"] for st in statements if "ForAllValues:StringLike" in st.get("Condition", {})], strict=True
        )
    )
    assert "alerts#" in naming.STATE_KEY_PREFIXES


def _lock_table_statements(statements: list[dict], c) -> list[dict]:
    table_arn = f"arn:aws:dynamodb:{c.region}:{c.account}:table/{c.terraform.lock_table}"
    return [st for st in statements if table_arn in _as_list(st["Resource"])]


@pytest.mark.parametrize("customer", ["dhbw", "edt"])
def test_force_unlock_deletes_only_this_states_lock_item_and_its_tflock(templates, customer):
    c = load_customer(customer)
    lock_path = f"{c.terraform.state_bucket}/{c.terraform.state_key}"
    statements = _statements_of(templates[customer], "force-unlock-state")
    on_table = _lock_table_statements(statements, c)
    assert {a for st in on_table for a in _as_list(st["Action"])} == {"dynamodb:GetItem", "dynamodb:DeleteItem"}
    # every grant on the shared table is limited to the state's own LockID: never its -md5 digest item
    for st in on_table:
        assert st["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": lock_path}}
    s3 = _by_action(statements, "s3:")
    tflock = f"arn:aws:s3:::{c.terraform.state_bucket}/{c.terraform.state_key}.tflock"
    assert set(s3) == {"s3:GetObject", "s3:DeleteObject", "s3:ListBucket"}
    assert [r for st in s3["s3:DeleteObject"] for r in _as_list(st["Resource"])] == [tflock]
    assert [r for st in s3["s3:GetObject"] for r in _as_list(st["Resource"])] == [tflock]


@pytest.mark.parametrize("customer", ["dhbw", "edt"])
def test_restore_writes_only_the_state_key_and_the_customers_backup_keys(templates, customer):
    c = load_customer(customer)
    statements = _statements_of(templates[customer], "restore-terraform-state")
    s3 = _by_action(statements, "s3:")
    state = f"arn:aws:s3:::{c.terraform.state_bucket}/{c.terraform.state_key}"
    backups = f"arn:aws:s3:::terraform-state-backup/lecture-{customer}/*"
    tflock = f"{state}.tflock"
    assert set(s3) == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert sorted(r for st in s3["s3:PutObject"] for r in _as_list(st["Resource"])) == sorted([state, backups])
    assert sorted(r for st in s3["s3:GetObject"] for r in _as_list(st["Resource"])) == sorted([state, backups, tflock])
    # the lock table: read this state's lock, update only its digest item (never delete, never another LockID)
    on_table = _lock_table_statements(statements, c)
    lock_path = f"{c.terraform.state_bucket}/{c.terraform.state_key}"
    grants = {
        a: st["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] for st in on_table for a in _as_list(st["Action"])
    }
    assert grants == {"dynamodb:GetItem": lock_path, "dynamodb:UpdateItem": f"{lock_path}-md5"}
    everything = [r for sts in s3.values() for st in sts for r in _as_list(st["Resource"])]
    assert "*" not in everything
