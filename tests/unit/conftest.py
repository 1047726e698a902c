"""Fixtures for the Lambda unit tests: fake AWS (moto), the automation table, dhbw's config, FakePagerDuty.

Nothing here is autouse: a test asks for the fakes it needs.
"""

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from customers import load_customer
from sandbox.pagerduty import FakePagerDuty
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, REGION, TABLE_NAME

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
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
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
