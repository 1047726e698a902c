"""customers/: the shipped customer files, the runbook's naming defaults, and readable errors for broken files."""

from pathlib import Path

import pytest

import customers
from customers import CustomerConfigError, load_customer, load_file

SHIPPED = {"dhbw": "111111111111", "edt": "222222222222", "unilux": "333333333333"}

VALID = """\
customer: {name}
account: "444444444444"
region: eu-central-1
ecs:
  services:
    - name: lecture-backend-service
      min_tasks: 2
      max_tasks: 6
terraform:
  state_bucket: {name}-terraform-state
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_customer_loads_with_the_runbooks_names(name):
    # given the customer file shipped in customers/
    # when
    config = load_customer(name)
    # then every name follows the runbook's conventions
    assert config.customer == name
    assert config.account == SHIPPED[name]
    assert config.region == "eu-central-1"
    assert config.aws_profile == f"lecture-{name}-prod"
    assert config.mode == "enforce"
    assert config.ecs.cluster == f"lecture-{name}-cluster"
    assert config.rds.cluster == f"lecture-{name}-cluster"
    assert (config.rds.snapshot_retention_days, config.rds.snapshot_on_alarm_cooldown_minutes) == (7, 360)
    assert [(s.name, s.min_tasks, s.max_tasks, s.cooldown_seconds) for s in config.ecs.services] == [
        ("lecture-backend-service", 2, 6, 300)
    ]
    assert config.content_bucket == f"content-{name}-prod"
    assert config.terraform.state_bucket == f"lecture-{name}-terraform-state"
    assert config.terraform.state_key == f"lecture-{name}/terraform.tfstate"
    assert config.terraform.backup_bucket == "terraform-state-backup"
    assert config.terraform.backup_prefix == f"lecture-{name}/"
    assert config.terraform.lock_table == "terraform-state-lock"
    assert config.terraform.stale_lock_minutes == 120
    assert (config.schedules.rds_snapshot, config.schedules.state_backup) == ("02:00", "02:30")
    assert config.schedules.lock_check_minutes == 15
    assert config.function == f"lecture-{name}-function"
    assert config.paging.pagerduty_secret_name == f"lecture/{name}/pagerduty-routing-key"


def test_known_customers_are_the_shipped_files():
    # when
    known = customers.known_customers()
    # then
    assert known == sorted(SHIPPED)
    assert [c.customer for c in customers.load_all()] == sorted(SHIPPED)


def test_minimal_file_gets_every_default_from_the_customer_name(tmp_path):
    # given a file that states only what the model requires
    write(tmp_path, "acme", VALID.format(name="acme"))
    # when
    config = load_customer("acme", directory=tmp_path)
    # then
    assert config.aws_profile == "lecture-acme-prod"
    assert config.ecs.cluster == "lecture-acme-cluster"
    assert config.content_bucket == "content-acme-prod"
    assert config.terraform.backup_prefix == "lecture-acme/" and config.terraform.state_key == "lecture-acme/terraform.tfstate"
    assert config.rds.cluster == "lecture-acme-cluster"
    assert config.function == "lecture-acme-function"
    assert config.ecs.services[0].cooldown_seconds == 300
    assert config.mode == "enforce"


def test_a_name_given_in_the_file_wins_over_the_default(tmp_path):
    # given
    write(
        tmp_path,
        "acme",
        VALID.format(name="acme").replace("ecs:\n", "ecs:\n  cluster: acme-main\n") + "content_bucket: acme-media\n",
    )
    # when
    config = load_customer("acme", directory=tmp_path)
    # then
    assert config.ecs.cluster == "acme-main"
    assert config.content_bucket == "acme-media"
    assert config.rds.cluster == "lecture-acme-cluster"  # untouched defaults still apply


@pytest.mark.parametrize(
    "broken, field, words",
    [
        pytest.param(
            VALID.format(name="acme").replace("min_tasks: 2", "min_tasks: 7"),
            "ecs.services.0",
            ["min_tasks 7 is above max_tasks 6"],
            id="min-above-max",
        ),
        pytest.param(
            VALID.format(name="acme").replace('"444444444444"', '"4444"'), "account", ["should match pattern"], id="short-account"
        ),
        pytest.param(
            VALID.format(name="acme").replace('"444444444444"', '"44444444444a"'),
            "account",
            ["should match pattern"],
            id="non-digit-account",
        ),
        pytest.param(
            VALID.format(name="acme").replace('"444444444444"', "444444444444"),
            "account",
            ["valid string"],
            id="unquoted-account-is-a-number",
        ),
        pytest.param(
            VALID.format(name="acme") + "colour: blue\n", "colour", ["Extra inputs are not permitted"], id="unknown-top-level-key"
        ),
        pytest.param(
            VALID.format(name="acme").replace("max_tasks: 6", "max_tasks: 6\n      cooldown: 60"),
            "ecs.services.0.cooldown",
            ["Extra inputs are not permitted"],
            id="unknown-nested-key",
        ),
        pytest.param(
            VALID.format(name="acme") + "mode: sometimes\n", "mode", ["'enforce', 'dry-run' or 'off'"], id="unknown-mode"
        ),
        pytest.param(
            VALID.format(name="acme").replace("      max_tasks: 6\n", ""),
            "ecs.services.0.max_tasks",
            ["Field required"],
            id="missing-max-tasks",
        ),
        pytest.param(
            VALID.format(name="acme").replace("region: eu-central-1\n", ""), "region", ["Field required"], id="missing-region"
        ),
    ],
)
def test_invalid_file_fails_naming_the_file_and_the_field(tmp_path, broken, field, words):
    # given
    path = write(tmp_path, "acme", broken)
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_file(path)
    # then
    message = str(caught.value)
    assert str(path) in message
    assert f"field '{field}'" in message
    for word in words:
        assert word in message


def test_invalid_yaml_fails_naming_the_file_and_the_line(tmp_path):
    # given an unclosed flow mapping on line 3
    path = write(tmp_path, "acme", 'customer: acme\naccount: "444444444444"\necs: {services: [\n')
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_customer("acme", directory=tmp_path)
    # then
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML")
    assert "line" in message


def test_file_that_is_not_a_mapping_fails_naming_the_file(tmp_path):
    # given
    path = write(tmp_path, "acme", "- customer: acme\n")
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_file(path)
    # then
    assert str(caught.value) == f"{path}: expected a mapping of settings, got list"


def test_customer_field_must_match_the_file_name(tmp_path):
    # given a copy of another customer's settings under a new name
    path = write(tmp_path, "acme", VALID.format(name="other"))
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_customer("acme", directory=tmp_path)
    # then
    assert str(caught.value) == f"{path}: field 'customer' is 'other' but the file is named 'acme'"


def test_unknown_customer_lists_the_known_ones():
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_customer("tum")
    # then
    assert str(caught.value) == "unknown customer 'tum'; known customers: dhbw, edt, unilux"


def test_unknown_customer_in_an_empty_directory_says_none(tmp_path):
    # when
    with pytest.raises(CustomerConfigError) as caught:
        load_customer("dhbw", directory=tmp_path)
    # then
    assert str(caught.value) == "unknown customer 'dhbw'; known customers: none"


def test_the_terraform_backend_bucket_must_be_given_and_named_in_the_error(tmp_path):
    # given a customer file without its Terraform backend bucket (no convention to default it from)
    write(tmp_path, "acme", VALID.format(name="acme").split("terraform:")[0])
    # when / then
    with pytest.raises(CustomerConfigError, match=r"field 'terraform\.state_bucket': Field required"):
        load_customer("acme", directory=tmp_path)


@pytest.mark.parametrize(
    "schedules, field",
    [
        ("schedules: {rds_snapshot: '25:00'}", "schedules.rds_snapshot"),
        ("schedules: {lock_check_minutes: 0}", "schedules.lock_check_minutes"),
        ("rds: {snapshot_retention_days: 0}", "rds.snapshot_retention_days"),
    ],
)
def test_a_wrong_schedule_or_retention_names_the_field(tmp_path, schedules, field):
    write(tmp_path, "acme", VALID.format(name="acme") + schedules + "\n")
    with pytest.raises(CustomerConfigError, match=f"field '{field}'"):
        load_customer("acme", directory=tmp_path)


def test_each_schedule_can_be_switched_off(tmp_path):
    write(
        tmp_path,
        "acme",
        VALID.format(name="acme") + "schedules: {rds_snapshot: null, state_backup: null, lock_check_minutes: null}\n",
    )
    config = load_customer("acme", directory=tmp_path)
    assert (config.schedules.rds_snapshot, config.schedules.state_backup, config.schedules.lock_check_minutes) == (
        None,
        None,
        None,
    )
