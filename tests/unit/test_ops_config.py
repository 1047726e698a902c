"""customers/ops.yaml: the ops account's settings, checked against the customer files (their accounts declared once)."""

from pathlib import Path

import pytest

import customers
from customers import CustomerConfigError, load_ops

CUSTOMER = """\
customer: {name}
account: "{account}"
region: eu-central-1
ecs:
  services:
    - name: lecture-backend-service
      min_tasks: 2
      max_tasks: 6
terraform:
  state_bucket: {name}-terraform-state
"""

OPS = """\
account: "999999999999"
region: eu-central-1
paging:
  pagerduty_service: Lecture Fleet P0
"""


def fleet(directory: Path, ops: str = OPS, **accounts: str) -> Path:
    for name, account in (accounts or {"acme": "444444444444", "beta": "555555555555"}).items():
        (directory / f"{name}.yaml").write_text(CUSTOMER.format(name=name, account=account))
    (directory / "ops.yaml").write_text(ops)
    return directory


def test_shipped_ops_file_names_the_customer_accounts_of_the_customer_files():
    # when
    ops = load_ops()
    # then the accounts come from the customer files, and the defaults are the issue's
    assert ops.customers == {c.account: c.customer for c in customers.load_all()}
    assert ops.account == "999999999999" and ops.region == "eu-central-1"
    assert (ops.correlation.min_customers, ops.correlation.window_minutes) == (2, 10)
    assert ops.paging.pagerduty_secret_name == "lecture/ops/pagerduty-routing-key"
    assert ops.customer_of("222222222222") == "edt" and ops.customer_of("123456789012") is None


def test_the_ops_file_is_not_a_customer():
    assert "ops" not in customers.known_customers()
    with pytest.raises(CustomerConfigError, match="'ops' is the ops account's file"):
        customers.load_customer("ops")


def test_minimal_ops_file_gets_the_defaults(tmp_path):
    ops = load_ops(fleet(tmp_path))
    assert ops.customers == {"444444444444": "acme", "555555555555": "beta"}
    assert (ops.correlation.min_customers, ops.correlation.window_minutes, ops.correlation.recover_minutes) == (2, 10, 15)
    assert ops.aws_profile == "lecture-ops"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (OPS.replace('"999999999999"', '"99"'), "field 'account': String should match pattern"),
        (
            OPS + "correlation:\n  min_customers: 1\n",
            "field 'correlation.min_customers': Input should be greater than",
        ),
        (OPS + "correlation:\n  window_minutes: 0\n", "field 'correlation.window_minutes'"),
        (OPS + "correlation:\n  min_customers: 3\n", "only 2 customers (acme, beta): no P0 could ever open"),
        (OPS.replace("Lecture Fleet P0", "''"), "field 'paging.pagerduty_service'"),
        (OPS + "  pagerduty_events_url: https://example.com/enqueue\n", "is not a PagerDuty Events API endpoint"),
        (OPS + "customers: {'111111111111': acme}\n", "field 'customers' is not set here"),
        (OPS + "colour: blue\n", "field 'colour': Extra inputs are not permitted"),
        (OPS.replace('"999999999999"', '"444444444444"'), "customer acme's account; the ops account is its own"),
        ("[1, 2]", "expected a mapping of settings, got list"),
        ("account: [", "not valid YAML"),
    ],
)
def test_a_broken_ops_file_is_refused_with_the_field_named(tmp_path, text, problem):
    with pytest.raises(CustomerConfigError) as err:
        load_ops(fleet(tmp_path, text))
    assert problem in str(err.value)
    assert str(tmp_path / "ops.yaml") in str(err.value)


def test_two_customers_in_one_account_are_refused(tmp_path):
    with pytest.raises(CustomerConfigError, match="customers acme and beta share account 444444444444"):
        load_ops(fleet(tmp_path, acme="444444444444", beta="444444444444"))


def test_no_ops_file(tmp_path):
    assert not customers.has_ops(tmp_path)
    with pytest.raises(CustomerConfigError, match="no ops file"):
        load_ops(tmp_path)


def test_the_sink_must_be_the_ops_accounts(tmp_path):
    text = OPS + "observability:\n  sink_arn: arn:aws:oam:eu-central-1:444444444444:sink/abc-1\n"
    with pytest.raises(CustomerConfigError, match="not a sink of the ops account 999999999999 in eu-central-1"):
        load_ops(fleet(tmp_path, text))
    with pytest.raises(CustomerConfigError, match="field 'observability.sink_arn'"):
        load_ops(fleet(tmp_path, OPS + "observability:\n  sink_arn: sink-1\n"))
