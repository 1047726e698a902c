"""Per-customer configuration: one YAML file per customer, validated by catalog.CustomerConfig."""

from pathlib import Path

import yaml
from pydantic import ValidationError

from catalog.customer import CustomerConfig
from catalog.fleet import OpsConfig
from catalog.validation import describe

CUSTOMERS_DIR = Path(__file__).resolve().parent
# The ops account's file, beside the customer files; not a customer (issue 16: the fleet's incidents meet there).
OPS = "ops"


class CustomerConfigError(Exception):
    """A customer file is missing, unreadable or invalid. The message names the file and the field."""


def known_customers(directory: Path = CUSTOMERS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml") if p.stem != OPS)


def load_customer(name: str, directory: Path = CUSTOMERS_DIR) -> CustomerConfig:
    if name == OPS:
        raise CustomerConfigError(f"{OPS!r} is the ops account's file ({OPS}.yaml, catalog.fleet.OpsConfig), not a customer")
    path = directory / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(known_customers(directory)) or "none"
        raise CustomerConfigError(f"unknown customer {name!r}; known customers: {known}")
    return load_file(path)


def load_file(path: Path) -> CustomerConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CustomerConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CustomerConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    try:
        config = CustomerConfig.model_validate(data)
    except ValidationError as exc:
        raise CustomerConfigError(describe(exc, str(path))) from None
    if config.customer != path.stem:
        raise CustomerConfigError(f"{path}: field 'customer' is {config.customer!r} but the file is named {path.stem!r}")
    return config


def load_all(directory: Path = CUSTOMERS_DIR) -> list[CustomerConfig]:
    return [load_customer(n, directory) for n in known_customers(directory)]


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CustomerConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CustomerConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def has_ops(directory: Path = CUSTOMERS_DIR) -> bool:
    return (directory / f"{OPS}.yaml").exists()


def load_ops(directory: Path = CUSTOMERS_DIR) -> OpsConfig:
    """customers/ops.yaml, with the customer accounts taken from the customer files (declared once there)."""
    path = directory / f"{OPS}.yaml"
    if not path.exists():
        raise CustomerConfigError(f"{path}: no ops file; the ops stack needs the ops account's settings there")
    data = _read(path)
    if "customers" in data:
        raise CustomerConfigError(
            f"{path}: field 'customers' is not set here: the customer accounts are those of the customer files "
            f"({', '.join(known_customers(directory))})"
        )
    fleet = load_all(directory)
    accounts: dict[str, str] = {}
    for config in fleet:
        if config.account in accounts:
            raise CustomerConfigError(
                f"customers {accounts[config.account]} and {config.customer} share account {config.account}: "
                "the ops account tells customers apart by their accounts"
            )
        accounts[config.account] = config.customer
    try:
        ops = OpsConfig.model_validate({**data, "customers": accounts})
    except ValidationError as exc:
        raise CustomerConfigError(describe(exc, str(path))) from None
    if ops.account in accounts:
        raise CustomerConfigError(
            f"{path}: field 'account' is {ops.account}, customer {accounts[ops.account]}'s account; the ops account is its own"
        )
    sink = ops.observability.sink_arn
    if sink and sink.split(":")[3:5] != [ops.region, ops.account]:
        raise CustomerConfigError(
            f"{path}: field 'observability.sink_arn' is {sink}, not a sink of the ops account {ops.account} in {ops.region}"
        )
    if ops.correlation.min_customers > len(fleet):
        raise CustomerConfigError(
            f"{path}: field 'correlation.min_customers' is {ops.correlation.min_customers}, but there are only "
            f"{len(fleet)} customers ({', '.join(c.customer for c in fleet)}): no P0 could ever open"
        )
    return ops
