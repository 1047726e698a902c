"""The sandbox's fixes of moto's gaps, each shown on moto itself."""

import json

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.backend.execution import Execution

from sandbox.moto_gaps import Patches, fix_execution_status_race

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def not_yet_started(monkeypatch):
    """An execution that moto lists before it has started it (what a concurrent StartExecution leaves for a
    moment), held in that state for the test."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # as the sandbox runs it
        sfn = boto3.client("stepfunctions", region_name="eu-central-1")
        arn = sfn.create_state_machine(name="m", definition=DEFINITION,
                                       roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        monkeypatch.setattr(Execution, "start", lambda self: None)
        sfn.start_execution(stateMachineArn=arn)
        yield sfn, arn


def test_listing_running_executions_while_one_is_being_started_fails_in_moto(not_yet_started):
    sfn, arn = not_yet_started
    with pytest.raises(AttributeError):
        sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")


def test_an_execution_being_started_counts_as_running(not_yet_started):
    sfn, arn = not_yet_started
    patches = Patches()
    fix_execution_status_race(patches)
    try:
        assert len(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]) == 1
    finally:
        patches.undo()
    assert isinstance(Execution.__dict__["status"], property)  # undone
