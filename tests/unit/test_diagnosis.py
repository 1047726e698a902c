"""Diagnoses on moto, one per resource kind: what each page carries, and that a part which fails is named
(with why) while the rest still travels. The worlds are the sandbox's own builders."""

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from catalog import KINDS
from lambdas.diagnosis import diagnose
from lambdas.diagnosis.ecs_service import ecs_service
from lambdas.diagnosis.lambda_function import lambda_function
from sandbox.world import api_gateway as api_world
from sandbox.world import ecs_service as ecs_world
from sandbox.world import lambda_function as lambda_world
from tests.unit.builders import ACCOUNT, REGION, SERVICE

FUNCTION = "lecture-dhbw-function"


@pytest.fixture
def clients(session):
    return lambda service: session.client(service, region_name=REGION)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_diagnosis_that_answers_even_when_its_resource_is_missing(kind, clients, dhbw):
    # given an empty account: nothing the diagnosis reads exists
    target = KINDS[kind].instances(dhbw)[0] if KINDS[kind].instances(dhbw) else "missing"
    found = diagnose(kind, clients, dhbw, target)
    # then it still answers, and says what it could not read instead of raising
    assert GAP[kind] in found, found


# where each kind's diagnosis says what it could not read
GAP = {
    "ecs_service": "missing",
    "rds_cluster": "missing",
    "lambda_function": "missing",
    "api_gateway": "missing",
    "cloudfront": "missing",
    "terraform_state": "state_error",
    "state_lock": "error",
}


def test_gap_covers_every_kind():
    assert set(GAP) == set(KINDS)


def test_ecs_diagnosis_has_the_task_definitions_cpu_and_memory_and_the_last_log_lines(clients, dhbw):
    spec = ecs_world.EcsServiceWorld(desired=2, log_lines=[f"line {i}" for i in range(30)])
    ecs_world.build(clients, dhbw, {SERVICE: spec}, ACCOUNT, REGION)
    found = diagnose("ecs_service", clients, dhbw, SERVICE)
    assert found["desired"] == 2 and found["running"] == 2
    assert found["task_definition"] == {"family": "lecture-backend", "revision": 1, "cpu": "256", "memory": "512"}
    assert found["logs"]["log_group"] == f"/ecs/{SERVICE}"  # the customer file's default: /ecs/<service>
    assert found["logs"]["lines"] == [f"line {i}" for i in range(10, 30)]  # the last 20, oldest first
    assert "missing" not in found


def test_a_missing_log_group_is_named_and_the_rest_of_the_ecs_diagnosis_still_travels(clients, dhbw):
    ecs_world.build(clients, dhbw, {SERVICE: ecs_world.EcsServiceWorld(log_group_exists=False)}, ACCOUNT, REGION)
    found = diagnose("ecs_service", clients, dhbw, SERVICE)
    assert f"/ecs/{SERVICE}" in found["missing"]["logs"] and "ResourceNotFoundException" in found["missing"]["logs"]
    assert found["desired"] == 2 and found["task_definition"]["memory"] == "512" and "logs" not in found


class Denied:
    """A client whose one operation is denied, as IAM would."""

    def __init__(self, client, operation):
        self.client, self.operation = client, operation

    def __getattr__(self, name):
        if name == self.operation:

            def denied(**kwargs):
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, name)

            return denied
        return getattr(self.client, name)


def test_a_denied_task_definition_read_is_named_and_the_service_still_travels(clients, dhbw):
    ecs_world.build(clients, dhbw, {}, ACCOUNT, REGION)
    found = ecs_service(Denied(clients("ecs"), "describe_task_definition"), dhbw.ecs.cluster, SERVICE)
    assert "AccessDeniedException" in found["missing"]["task_definition"]
    assert found["desired"] == 2 and "task_definition" not in found


def test_lambda_diagnosis_has_the_configuration_and_recent_errors_and_throttles(clients, dhbw):
    spec = lambda_world.LambdaFunctionWorld(memory_mb=1024, reserved_concurrency=5, errors=7, throttles=2)
    lambda_world.build(clients, dhbw, {FUNCTION: spec}, ACCOUNT, REGION)
    found = diagnose("lambda_function", clients, dhbw, FUNCTION)
    config = found["configuration"]
    assert (config["runtime"], config["memory_mb"], config["timeout_seconds"], config["reserved_concurrency"]) == (
        "python3.12",
        1024,
        dhbw.function_timeout_seconds,
        5,
    )
    assert config["last_modified"]
    assert found["metrics"]["errors"] == 7 and found["metrics"]["throttles"] == 2
    assert "missing" not in found


def test_a_missing_function_is_named_and_its_metrics_still_travel(clients, dhbw):
    lambda_world.build(clients, dhbw, {FUNCTION: lambda_world.LambdaFunctionWorld(exists=False, errors=3)}, ACCOUNT, REGION)
    found = diagnose("lambda_function", clients, dhbw, FUNCTION)
    assert "ResourceNotFoundException" in found["missing"]["configuration"] and "configuration" not in found
    assert found["metrics"]["errors"] == 3


def test_denied_metrics_are_named_and_the_configuration_still_travels(clients, dhbw):
    lambda_world.build(clients, dhbw, {}, ACCOUNT, REGION)
    found = lambda_function(
        clients("lambda"), Denied(clients("cloudwatch"), "get_metric_statistics"), FUNCTION, now=datetime.now(UTC)
    )
    assert "AccessDeniedException" in found["missing"]["metrics"]
    assert found["configuration"]["timeout_seconds"] == 30


def test_api_gateway_diagnosis_finds_the_stage_by_the_apis_name(clients, dhbw):
    config = type(dhbw).model_validate({**dhbw.model_dump(), "api": {"name": "lecture-dhbw-api", "stage": "prod"}})
    api_world.build(clients, config, {}, ACCOUNT, REGION)
    found = diagnose("api_gateway", clients, config, "lecture-dhbw-api")
    assert found["stage"] == "prod" and found["deployment"] and "missing" not in found


def test_cloudfront_diagnosis_names_a_distribution_it_cannot_read(clients, dhbw):
    found = diagnose("cloudfront", clients, dhbw, "E2QWRUHAPOMQZL")
    assert found["distribution_id"] == "E2QWRUHAPOMQZL" and "NoSuchDistribution" in found["missing"]["distribution"]
