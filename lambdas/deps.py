"""Wiring for handlers: the automation table from the function's settings."""

from datetime import datetime

from lambdas import aws
from lambdas.logic.store import Store
from lambdas.settings import Settings


def store(settings: Settings, now: datetime) -> Store:
    return Store(aws.resource_table(settings.table_name), now)
