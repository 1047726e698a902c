"""Per-customer configuration: one YAML file per customer, validated by catalog.CustomerConfig."""

from pathlib import Path

import yaml
from pydantic import ValidationError

from catalog.customer import CustomerConfig
from catalog.validation import describe

CUSTOMERS_DIR = Path(__file__).resolve().parent


class CustomerConfigError(Exception):
    """A customer file is missing, unreadable or invalid. The message names the file and the field."""


def known_customers(directory: Path = CUSTOMERS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_customer(name: str, directory: Path = CUSTOMERS_DIR) -> CustomerConfig:
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
