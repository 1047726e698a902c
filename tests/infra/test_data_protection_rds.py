"""The rds_cluster kind and snapshot-rds-cluster in the synthesized templates: alarms and least privilege."""

import pytest

from catalog import naming
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


def _with(statements: list[dict], action: str) -> list[dict]:
    return [st for st in statements if action in _actions(st)]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_three_alarms_per_cluster_named_once_and_dimensioned_by_the_cluster(templates, customer):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in resources(templates[customer], "AWS::CloudWatch::Alarm").values()
    }
    cluster = load_customer(customer).rds.cluster
    expected = {
        "connections-high": ("DatabaseConnections", "GreaterThanOrEqualToThreshold", 300),
        "cpu-high": ("CPUUtilization", "GreaterThanOrEqualToThreshold", 80),
        "memory-low": ("FreeableMemory", "LessThanThreshold", 256 * 1024 * 1024),
    }
    for condition, (metric, operator, threshold) in expected.items():
        alarm = alarms[f"lecture-{customer}-cluster-{condition}"]  # not lecture-<c>-lecture-<c>-cluster-...
        assert (alarm["Namespace"], alarm["MetricName"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "AWS/RDS",
            metric,
            operator,
            threshold,
        )
        assert alarm["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": cluster}]
        assert "(P2)" in alarm["AlarmDescription"] and "snapshot-rds-cluster" in alarm["AlarmDescription"]
    assert not [n for n in alarms if f"lecture-{customer}-lecture-{customer}-" in n]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_snapshot_deletes_only_the_automations_tagged_snapshots(templates, customer):
    c = load_customer(customer)
    statements = _statements(templates[customer], "Runbooksnapshotrdscluster")
    [delete] = _with(statements, "rds:DeleteDBClusterSnapshot")
    assert _actions(delete) == ["rds:DeleteDBClusterSnapshot"]
    assert delete["Resource"] == f"arn:aws:rds:{c.region}:{c.account}:cluster-snapshot:lecture-{customer}-*"
    assert delete["Condition"] == {"StringEquals": {f"rds:cluster-snapshot-tag/{naming.CREATED_BY_TAG}": naming.CREATED_BY}}
    # creates: on the cluster and on the automation's names only, tags with it
    creates = _with(statements, "rds:CreateDBClusterSnapshot")
    assert sorted(st["Resource"] for st in creates) == sorted(
        [
            f"arn:aws:rds:{c.region}:{c.account}:cluster:{c.rds.cluster}",
            f"arn:aws:rds:{c.region}:{c.account}:cluster-snapshot:lecture-{customer}-*",
        ]
    )
    [tagging] = _with(statements, "rds:AddTagsToResource")
    assert tagging["Resource"] == f"arn:aws:rds:{c.region}:{c.account}:cluster-snapshot:lecture-{customer}-*"
    writes = {a for st in statements for a in _actions(st) if a.startswith("rds:") and not a.startswith("rds:Describe")}
    assert writes == {"rds:CreateDBClusterSnapshot", "rds:AddTagsToResource", "rds:DeleteDBClusterSnapshot"}


def test_the_page_function_reads_the_cluster_for_its_diagnosis(templates):
    statements = _statements(templates["dhbw"], "RespondPageFunction")
    [clusters] = _with(statements, "rds:DescribeDBClusters")
    assert clusters["Resource"] == "arn:aws:rds:eu-central-1:111111111111:cluster:lecture-dhbw-cluster"
    assert _with(statements, "rds:DescribeDBInstances") and _with(statements, "rds:DescribeEvents")
    assert not [a for st in statements for a in _actions(st) if a.startswith("rds:") and not a.startswith("rds:Describe")]


def test_the_runbook_has_its_state_machine(templates):
    names = {
        s["Properties"]["StateMachineName"] for s in resources(templates["dhbw"], "AWS::StepFunctions::StateMachine").values()
    }
    assert "lecture-dhbw-snapshot-rds-cluster" in names
