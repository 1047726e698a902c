"""maintenance-window in the synthesized templates: its own state machine, scoped grants (moto enforces no IAM)."""

import json

from catalog import audit_chain
from tests.infra.conftest import resources
from tests.infra.test_data_protection_rds import _actions, _statements, _with

ARN = "arn:aws:states:eu-central-1:111111111111"


def _machine(template: dict, name: str) -> dict:
    [machine] = [
        s["Properties"]
        for s in resources(template, "AWS::StepFunctions::StateMachine").values()
        if s["Properties"]["StateMachineName"] == name
    ]
    return machine


def test_its_state_machine_runs_the_backups_as_child_workflows_before_the_scale_down(templates):
    machine = _machine(templates["dhbw"], "lecture-dhbw-maintenance-window")
    text = json.dumps(machine["DefinitionString"])
    for state in (
        "Run backup-terraform-state",
        "Run snapshot-rds-cluster",
        "ScaleDown",
        "MaintenanceWindow",
        "Restore",
        "Verify",
        "NotifyEnd",
        "Lift",
        "LiftAfterFailure",
    ):
        assert f'\\"{state}\\"' in text, state
    assert "states:startExecution.sync:2" in text


def test_it_may_start_only_the_two_backup_workflows(templates):
    statements = _statements(templates["dhbw"], "Runbookmaintenancewindow")
    [start] = _with(statements, "states:StartExecution")
    refs = json.dumps(start["Resource"])
    assert "Runbookbackupterraformstate" in refs and "Runbooksnapshotrdscluster" in refs
    assert "Runbookscaleecsservice" not in refs and "Respond" not in refs
    # the state machine's: the children's executions, for sync:2; the function's (it proves its approval, as every
    # approval runbook's does: foundation.grant_executions_read): the customer's executions only
    [children] = [st for st in _with(statements, "states:DescribeExecution") if isinstance(st["Resource"], list)]
    assert sorted(children["Resource"]) == [
        f"{ARN}:execution:lecture-dhbw-backup-terraform-state:*",
        f"{ARN}:execution:lecture-dhbw-snapshot-rds-cluster:*",
    ]
    others = [st["Resource"] for st in _with(statements, "states:DescribeExecution") if st is not children]
    assert others == [f"{ARN}:execution:lecture-dhbw-*:*"], others


def test_its_function_writes_window_rows_only_and_scales_only_the_customers_services(templates):
    statements = _statements(templates["dhbw"], "Runbookmaintenancewindow")
    [update] = _with(statements, "ecs:UpdateService")
    assert update["Resource"] == "arn:aws:ecs:eu-central-1:111111111111:service/lecture-dhbw-cluster/lecture-backend-service"
    # its table updates: the window rows, and the audit chain's head (Store.audit), each by its key only
    updates = [
        st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for st in _with(statements, "dynamodb:UpdateItem")
    ]
    assert sorted(updates) == [[audit_chain.CHAIN_HEAD_PK], ["window#*"]]
    assert not [a for st in statements for a in _actions(st) if a.startswith(("rds:", "s3:"))]


def test_respond_does_not_start_it(templates):
    statements = _statements(templates["dhbw"], "Respond")
    starts = json.dumps([st["Resource"] for st in _with(statements, "states:StartExecution")])
    assert "Runbookscaleecsservice" in starts and "Runbookmaintenancewindow" not in starts
