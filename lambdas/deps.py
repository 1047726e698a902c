"""Wiring for handlers: settings from the environment, clients, the store, the pager."""

from datetime import datetime

from lambdas import aws
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store
from lambdas.settings import Settings


def store(settings: Settings, now: datetime) -> Store:
    table = aws.resource_table(settings.table_name)
    return Store(table, now)


def pager(settings: Settings, now: datetime) -> Pager:
    def routing_key() -> str:
        from aws_lambda_powertools.utilities import parameters  # only paging needs it

        return str(parameters.get_secret(settings.pagerduty_secret_name, max_age=300))

    return Pager(config=settings.customer, sns=aws.client("sns"), topic_arn=settings.topic_arn,
                 events_url=settings.pagerduty_events_url, routing_key=routing_key, now=now)
