"""Fixtures for the Lambda unit tests: fake AWS (moto), the automation table, dhbw's config, FakePagerDuty.

Nothing here is autouse: a test asks for the fakes it needs.
"""

import functools
import json

import boto3
import botocore.loaders
import botocore.session
import moto.sns.models
import pytest
from moto import mock_aws

from customers import load_customer
from lambdas.logic import pagerduty
from lambdas.logic.admit import admit
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store
from sandbox.pagerduty import FakePagerDuty
from tests.unit.builders import (
    ACCOUNT,
    MODE_PARAMETER,
    NOW,
    REGION,
    ROUTING_KEY,
    TABLE_NAME,
    AsDelivered,
    status_queue,
)

# moto resets boto3's default session for every mock, so each test would parse the service models again
# (most of a test's time). One loader, shared by the sessions of all tests, keeps the parsed models.
_LOADER = botocore.loaders.create_loader()


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials and the customer's region, so no call can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    for name in ("AWS_PROFILE", "AWS_REGION", "MOTO_ECS_SERVICE_RUNNING"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mocked(aws_env):
    with mock_aws():
        yield


@pytest.fixture
def session(mocked):
    """A boto3 session inside the mock, reading the fake credentials from the environment."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, region_name=REGION)


@pytest.fixture
def dhbw():
    return load_customer("dhbw")


@pytest.fixture
def table(session):
    """The automation table as the stack creates it: pk (S) hash key, sk (S) range key."""
    dynamodb = session.resource("dynamodb")
    created = dynamodb.create_table(
        TableName=TABLE_NAME,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    created.wait_until_exists()
    return created


@pytest.fixture
def ssm(session):
    """The mode switch, created with the customer's initial mode like the stack does."""
    client = session.client("ssm")
    client.put_parameter(Name=MODE_PARAMETER, Value="enforce", Type="String")
    return client


@pytest.fixture
def ecs(session):
    return session.client("ecs")


@pytest.fixture
def aas(session):
    return session.client("application-autoscaling")


@pytest.fixture
def pd():
    with FakePagerDuty() as server:
        yield server


_SIGNING_KEY = functools.cache(lambda: moto.sns.models.rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def world(session, dhbw, table, ssm, pd, monkeypatch):
    """dhbw's status topic (read through an SQS subscription), table, mode switch and a PagerDuty fake."""
    # moto signs every SNS delivery with a fresh 2048-bit RSA key per subscription: reuse one key.
    monkeypatch.setattr(moto.sns.models.Subscription, "private_key", lambda self: _SIGNING_KEY())
    topic_arn, sqs, queue_url = status_queue(session)

    class World:
        def __init__(self):
            self.table, self.ssm, self.pd, self.config = table, ssm, pd, dhbw
            self.store = Store(table, NOW)
            self.pager = Pager(
                config=dhbw,
                sns=session.client("sns"),
                topic_arn=topic_arn,
                events_url=pd.events_url,
                routing_key=lambda team: ROUTING_KEY,
                now=NOW,
                send=functools.partial(pagerduty.send, sleep=lambda s: None),
            )

        def admit(self, event):
            return admit(
                event, config=dhbw, store=self.store, ssm=ssm, mode_parameter=MODE_PARAMETER, cloudwatch=AsDelivered(event)
            )

        def status_updates(self) -> list[dict]:
            """Every SNS notification published so far: {"Subject", "Message", "Attributes" (name -> value)}."""
            got = []
            while True:
                messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages:
                    return got
                for m in messages:
                    body = json.loads(m["Body"])
                    got.append(
                        {
                            "Subject": body.get("Subject"),
                            "Message": body["Message"],
                            "Attributes": {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()},
                        }
                    )
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])

    return World()
