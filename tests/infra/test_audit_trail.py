"""Issue 15, Medium 2 and item 3 on the synthesized template: the table's resource policy keeps the audit trail
append-only and the verified answers the answer function's own, against every principal (moto does not enforce
resource policies; this is their proof), and a change of that policy pages the security team."""

import json

import pytest

from catalog import RUNBOOKS, audit_chain, naming
from catalog.security import SECURITY_EVENTS
from customers import known_customers
from tests.infra.conftest import resources

CUSTOMERS = known_customers()


def _table(template: dict) -> dict:
    [table] = resources(template, "AWS::DynamoDB::Table").values()
    return table["Properties"]


def _statements(template: dict) -> dict[str, dict]:
    return {st["Sid"]: st for st in _table(template)["ResourcePolicy"]["PolicyDocument"]["Statement"]}


def _roles_writing(template: dict, prefix: str) -> set[str]:
    """Logical ids of the roles whose policies allow PutItem on keys starting with ``prefix``."""
    found = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            keys = st.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", [])
            if st["Effect"] == "Allow" and "dynamodb:PutItem" in actions and any(k.startswith(prefix) for k in keys):
                found |= {r["Ref"] for r in policy["Properties"]["Roles"]}
    return found


def _excepted(statement: dict) -> set[str]:
    return {a["Fn::GetAtt"][0] for a in statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_no_principal_may_change_or_delete_an_audit_row(templates, customer):
    st = _statements(templates[customer])["AuditRowsAreNeverChanged"]
    assert st["Effect"] == "Deny" and st["Principal"] == {"AWS": "*"} and "Condition" in st
    assert set(st["Action"]) >= {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert st["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["audit#*"]}}
    assert set(st["Condition"]) == {"ForAnyValue:StringLike"}  # no exception: the account's admins included
    assert st["Resource"] == naming.table_arn(customer, *_where(templates[customer]))
    head = _statements(templates[customer])["TheAuditChainHeadIsNeverDeleted"]
    assert head["Effect"] == "Deny" and head["Principal"] == {"AWS": "*"} and "dynamodb:DeleteItem" in head["Action"]
    assert head["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": [f"{audit_chain.CHAIN_KEY_PREFIX}*"]}}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_only_the_automations_function_roles_append_audit_rows(templates, customer):
    template = templates[customer]
    st = _statements(template)["OnlyTheAutomationAppendsAuditRows"]
    assert st["Effect"] == "Deny" and st["Principal"] == {"AWS": "*"}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= set(st["Action"])
    assert st["Condition"]["ForAnyValue:StringLike"] == {"dynamodb:LeadingKeys": ["audit#*", "chain#*"]}
    # exactly the roles IAM lets put audit rows: every function that appends, no person, no state machine
    excepted = _excepted(st)
    assert excepted == _roles_writing(template, naming.AUDIT_KEY_PREFIX)
    assert "FoundationAuditFunctionRole" in " ".join(excepted) and "RespondRecordFunctionRole" in " ".join(excepted)
    roles = resources(template, "AWS::IAM::Role")
    assert all("lambda.amazonaws.com" in json.dumps(roles[r]["Properties"]["AssumeRolePolicyDocument"]) for r in excepted)
    # and those roles write audit rows only with attribute_not_exists (Store.audit), never an update: see the unit tests


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_only_the_answer_functions_role_writes_verified_answers(templates, customer):
    template = templates[customer]
    st = _statements(template)["OnlyTheAnswerFunctionWritesAnswers"]
    assert st["Effect"] == "Deny" and st["Principal"] == {"AWS": "*"}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= set(st["Action"])
    assert st["Condition"]["ForAnyValue:StringLike"] == {"dynamodb:LeadingKeys": [f"{naming.ANSWER_KEY_PREFIX}*"]}
    [answer_role] = _excepted(st)
    assert answer_role.startswith("ApprovalsAnswerFunctionRole")
    assert _roles_writing(template, naming.ANSWER_KEY_PREFIX) == {answer_role}


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_audit_rows_have_no_expiry_and_no_code_sets_one(templates, customer):
    # the table's TTL attribute is expires_at: no audit row may carry it (Store.audit never sets it)
    from pathlib import Path

    assert _table(templates[customer])["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    store = (Path(__file__).resolve().parents[2] / "lambdas" / "logic" / "store.py").read_text()
    audit = store[store.index("    def audit(") : store.index("    def audit_trail(")]
    assert "expires_at" not in audit.split('"""')[2]  # the code, not the docstring


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_a_change_of_the_tables_resource_policy_pages_the_security_team(templates, customer):
    kind = SECURITY_EVENTS["table-policy-change"]
    [rule] = [
        r["Properties"]
        for r in resources(templates[customer], "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == kind.rule_name(customer)
    ]
    region, account = _where(templates[customer])
    assert rule["EventPattern"]["source"] == ["aws.dynamodb"]
    assert rule["EventPattern"]["detail"] == {
        "eventSource": ["dynamodb.amazonaws.com"],
        "eventName": ["PutResourcePolicy", "DeleteResourcePolicy"],
        "requestParameters": {"resourceArn": [naming.table_arn(customer, region, account)]},
    }
    assert "RespondStateMachine" in json.dumps(rule["Targets"]) and kind.team == "security"


def _where(template: dict) -> tuple[str, str]:
    arn = _table(template)["ResourcePolicy"]["PolicyDocument"]["Statement"][0]["Resource"]
    _, _, _, region, account, _ = arn.split(":", 5)
    return region, account


def test_every_runbook_that_writes_audit_rows_is_excepted(templates):
    # a runbook's function that appends audit rows (its refusals) must be in the policy's exception, or its
    # append is denied in AWS (moto would not show it)
    st = _statements(templates["dhbw"])["OnlyTheAutomationAppendsAuditRows"]
    excepted = " ".join(_excepted(st))
    for rb in RUNBOOKS.values():
        if rb.table_actions or rb.approval:
            assert f"Runbook{rb.name.replace('-', '')}FunctionRole" in excepted, rb.name


# --- the daily export to S3 with Object Lock ---------------------------------------------------------------------
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_the_export_bucket_is_locked_in_compliance_mode_encrypted_and_private(templates, customer):
    from customers import load_customer

    config = load_customer(customer)
    [bucket] = [
        r
        for r in resources(templates[customer], "AWS::S3::Bucket").values()
        if r["Properties"].get("BucketName") == naming.audit_export_bucket(customer, config.account)
    ]
    p = bucket["Properties"]
    assert p["ObjectLockEnabled"] is True and p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert p["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": config.audit_export.retention_days}},
    }
    [rule] = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"] is True
    assert "FoundationKey" in json.dumps(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["DeletionPolicy"] == "Retain"
    # only TLS (enforce_ssl): the bucket policy denies aws:SecureTransport false
    [policy] = [
        r["Properties"]
        for r in resources(templates[customer], "AWS::S3::BucketPolicy").values()
        if "AuditExport" in json.dumps(r["Properties"]["Bucket"])
    ]
    assert any(st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in policy["PolicyDocument"]["Statement"])


def test_a_customer_file_sets_the_retention_and_bad_values_are_refused():
    from pydantic import ValidationError

    from catalog.customer import AuditExportConfig

    assert AuditExportConfig(retention_days=30).retention_days == 30
    assert AuditExportConfig().retention_days == 400 and AuditExportConfig().time == "03:00"
    for bad in ({"retention_days": 0}, {"retention_days": 4000}, {"time": "25:00"}, {"retention": 3}):
        with pytest.raises(ValidationError):
            AuditExportConfig.model_validate(bad)


def test_the_export_runs_daily_and_may_only_write_its_objects(templates):
    template = templates["dhbw"]
    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == naming.rule_name("dhbw", naming.AUDIT_EXPORT_COMPONENT)
    ]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    [target] = rule["Targets"]
    assert "AuditExportFunction" in json.dumps(target["Arn"]) and "DeadLetterConfig" in target
    statements = [
        st
        for k, p in resources(template, "AWS::IAM::Policy").items()
        if k.startswith("AuditExportFunctionRole")
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for st in statements for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert {"s3:PutObject", "dynamodb:Scan"} <= actions
    assert not {a for a in actions if a.startswith("s3:") and a != "s3:PutObject"}  # no delete, no retention change
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & actions
