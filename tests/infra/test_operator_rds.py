"""restore-rds-cluster, restore-drill and health-check in the synthesized templates: least privilege."""

import json

import pytest

from catalog import audit_chain, naming
from customers import known_customers, load_customer
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def _statements(template: dict, logical_prefix: str) -> list[dict]:
    return [
        st
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if k.startswith(logical_prefix)
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(st: dict) -> list[str]:
    return st["Action"] if isinstance(st["Action"], list) else [st["Action"]]


def _resources(st: dict) -> list:
    return st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]


def _rds_writes(statements: list[dict]) -> set[str]:
    return {a for st in statements for a in _actions(st) if a.startswith("rds:") and not a.startswith("rds:Describe")}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_restore_creates_only_the_restored_cluster_and_never_modifies_or_deletes(templates, customer):
    c = load_customer(customer)
    arn = f"arn:aws:rds:{c.region}:{c.account}"
    statements = _statements(templates[customer], "Runbookrestorerdscluster")
    assert statements, "the restore-rds-cluster role has a policy"
    assert _rds_writes(statements) == {"rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource"}
    restore_resources = sorted(
        r for st in statements if "rds:RestoreDBClusterFromSnapshot" in _actions(st) for r in _resources(st)
    )
    assert restore_resources == sorted(
        [
            f"{arn}:cluster:lecture-{customer}-cluster-restored",
            f"{arn}:cluster-snapshot:lecture-{customer}-*",
            f"{arn}:cluster-snapshot:rds:{c.rds.cluster}-*",
            f"{arn}:subgrp:*",
        ]
    )
    # the original cluster only ever appears with Describe actions
    for st in statements:
        if f"{arn}:cluster:{c.rds.cluster}" in _resources(st):
            assert all(a.startswith("rds:Describe") for a in _actions(st)), st
    tagging = [r for st in statements if "rds:AddTagsToResource" in _actions(st) for r in _resources(st)]
    assert tagging == [f"{arn}:cluster:lecture-{customer}-cluster-restored"]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_drill_deletes_only_tagged_drill_clusters_and_restores_only_the_automations_snapshots(templates, customer):
    c = load_customer(customer)
    arn = f"arn:aws:rds:{c.region}:{c.account}"
    statements = _statements(templates[customer], "Runbookrestoredrill")
    assert _rds_writes(statements) == {"rds:RestoreDBClusterFromSnapshot", "rds:AddTagsToResource", "rds:DeleteDBCluster"}
    [delete] = [st for st in statements if "rds:DeleteDBCluster" in _actions(st)]
    assert _actions(delete) == ["rds:DeleteDBCluster"]
    assert delete["Resource"] == f"{arn}:cluster:lecture-{customer}-drill-*"
    assert delete["Condition"] == {
        "StringEquals": {
            f"rds:cluster-tag/{naming.DRILL_TAG}": "true",
            f"rds:cluster-tag/{naming.CREATED_BY_TAG}": naming.CREATED_BY,
        }
    }
    restore_resources = sorted(
        r for st in statements if "rds:RestoreDBClusterFromSnapshot" in _actions(st) for r in _resources(st)
    )
    assert restore_resources == sorted(
        [f"{arn}:cluster:lecture-{customer}-drill-*", f"{arn}:cluster-snapshot:lecture-{customer}-*", f"{arn}:subgrp:*"]
    )
    assert "rds:ModifyDBCluster" not in json.dumps(statements)


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_health_check_only_reads_and_publishes_to_its_own_status_topic(templates, customer):
    statements = _statements(templates[customer], "RunbookhealthcheckFunctionRole")
    actions = {a for st in statements for a in _actions(st)}
    writes = {a for a in actions if not a.split(":")[1].startswith(("Describe", "Get", "List"))}
    # PutItem: the audit row every runbook function may write (audit# rows only), UpdateItem: the audit chain's head
    # moved on in the same transaction (its key only); Publish: its summary
    assert writes <= {
        "sns:Publish",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }, writes
    [head] = [st for st in statements if "dynamodb:UpdateItem" in _actions(st)]
    assert head["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [audit_chain.CHAIN_HEAD_PK]}}
    [publish] = [st for st in statements if "sns:Publish" in _actions(st)]
    assert publish["Resource"] == {"Ref": next(k for k in resources(templates[customer], "AWS::SNS::Topic"))}
    [head] = [st for st in statements if _actions(st) == ["s3:ListBucket"] and "Condition" not in st]
    assert head["Resource"] == f"arn:aws:s3:::{load_customer(customer).content_bucket}"
