"""Fixtures for the Lambda unit tests: fake AWS (moto), the automation table, dhbw's config, FakePagerDuty.

Nothing here is autouse: a test asks for the fakes it needs.
"""

import boto3
import pytest
from moto import mock_aws

from customers import load_customer
from sandbox.pagerduty import FakePagerDuty
from tests.unit.builders import ACCOUNT, MODE_PARAMETER, REGION, TABLE_NAME


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
def dhbw():
    return load_customer("dhbw")


@pytest.fixture
def table(mocked):
    """The automation table as the stack creates it: pk (S) hash key, sk (S) range key."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
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
def ssm(mocked):
    """The mode switch, created with the customer's initial mode like the stack does."""
    client = boto3.client("ssm", region_name=REGION)
    client.put_parameter(Name=MODE_PARAMETER, Value="enforce", Type="String")
    return client


@pytest.fixture
def ecs(mocked):
    return boto3.client("ecs", region_name=REGION)


@pytest.fixture
def aas(mocked):
    return boto3.client("application-autoscaling", region_name=REGION)


@pytest.fixture
def pd():
    with FakePagerDuty() as server:
        yield server
