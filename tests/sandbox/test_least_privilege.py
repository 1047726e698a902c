"""The least-privilege checker itself: a missing grant is caught, conditions are evaluated sensibly."""

import copy
import json

from sandbox.least_privilege import Policies, unused_grants

ACCOUNT, REGION = "111111111111", "eu-central-1"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/lecture-dhbw-remediation"


def template(*statements):
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "fn", "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": list(statements)}},
            },
        }
    }


PHYSICAL = {"Fn": "fn", "Role": "role", "Table": "lecture-dhbw-remediation", "Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:status"}


def call(aws_service, operation, **params):
    return {"function": "fn", "service": aws_service, "operation": operation, "params": params, "region": REGION}


def put(pk):
    return call("dynamodb", "PutItem", TableName="lecture-dhbw-remediation", Item={"pk": {"S": pk}, "sk": {"S": "x"}})


def allowed(policies, c):
    return [v.allowed for v in policies.check(c)]


def test_a_call_without_a_grant_is_refused_and_one_with_it_allowed():
    # given a role that may publish to the topic (resolved through Ref) but has no DynamoDB grant
    p = Policies(template({"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}), PHYSICAL, ACCOUNT, REGION)
    # then
    assert allowed(p, call("sns", "Publish", TopicArn=PHYSICAL["Topic"], Message="m")) == [True]
    assert allowed(p, call("sns", "Publish", TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:other", Message="m")) == [False]
    [verdict] = p.check(put("open#a"))
    assert not verdict.allowed and verdict.reason == "no statement of the role allows it"
    assert verdict.request.resources == [TABLE_ARN]


def test_resources_resolve_through_join_getatt_and_wildcards():
    p = Policies(
        template(
            {
                "Effect": "Allow",
                "Action": ["dynamodb:Get*"],
                "Resource": [{"Fn::Join": ["", [{"Fn::GetAtt": ["Table", "Arn"]}, "*"]]}],
            }
        ),
        PHYSICAL,
        ACCOUNT,
        REGION,
    )
    get = call("dynamodb", "GetItem", TableName="lecture-dhbw-remediation", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert allowed(p, get) == [True]
    assert allowed(p, {**get, "params": {**get["params"], "TableName": "someone-else"}}) == [False]


def test_leading_keys_condition_is_the_partition_key_of_the_call():
    # given audit rows may only be put, other rows also deleted
    p = Policies(
        template(
            {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
            {
                "Effect": "Allow",
                "Action": "dynamodb:DeleteItem",
                "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["open#*", "claim#*"]}},
            },
        ),
        PHYSICAL,
        ACCOUNT,
        REGION,
    )
    delete = call(
        "dynamodb", "DeleteItem", TableName="lecture-dhbw-remediation", Key={"pk": {"S": "open#alarm"}, "sk": {"S": "open"}}
    )
    assert allowed(p, delete) == [True]
    delete["params"]["Key"]["pk"]["S"] = "audit#i-1"
    assert allowed(p, delete) == [False]
    assert allowed(p, put("audit#i-1")) == [True]
    # a transaction is checked item by item
    transact = call(
        "dynamodb",
        "TransactWriteItems",
        TransactItems=[
            {"Put": {"TableName": "lecture-dhbw-remediation", "Item": {"pk": {"S": "claim#x"}}}},
            {"Delete": {"TableName": "lecture-dhbw-remediation", "Key": {"pk": {"S": "audit#x"}}}},
        ],
    )
    assert allowed(p, transact) == [True, False]


def test_an_explicit_deny_wins_and_unknown_condition_keys_are_ignored_and_named():
    p = Policies(
        template(
            {
                "Effect": "Allow",
                "Action": "ecs:UpdateService",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
            },
            {
                "Effect": "Deny",
                "Action": "ecs:UpdateService",
                "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/lecture-dhbw-cluster/secret-*",
            },
        ),
        PHYSICAL,
        ACCOUNT,
        REGION,
    )
    ok = call("ecs", "UpdateService", cluster="lecture-dhbw-cluster", service="lecture-backend-service", desiredCount=3)
    assert allowed(p, ok) == [True]
    assert "StringEquals aws:PrincipalTag/team" in p.ignored_conditions
    assert allowed(p, {**ok, "params": {**ok["params"], "service": "secret-store"}}) == [False]


def test_cluster_condition_on_a_list_call():
    p = Policies(
        template(
            {
                "Effect": "Allow",
                "Action": "ecs:ListTasks",
                "Resource": "*",
                "Condition": {"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/lecture-dhbw-cluster"}},
            }
        ),
        PHYSICAL,
        ACCOUNT,
        REGION,
    )
    assert allowed(p, call("ecs", "ListTasks", cluster="lecture-dhbw-cluster")) == [True]
    assert allowed(p, call("ecs", "ListTasks", cluster="other")) == [False]


def test_granted_actions_never_called_are_listed():
    p = Policies(
        template({"Effect": "Allow", "Action": ["sns:Publish", "dynamodb:Scan", "kms:ReEncrypt*"], "Resource": "*"}),
        PHYSICAL,
        ACCOUNT,
        REGION,
    )
    assert unused_grants(p.granted_actions(), {"fn": {"sns:publish"}}) == {"fn": ["dynamodb:scan", "kms:reencrypt*"]}
    assert unused_grants(p.granted_actions(), {"fn": {"sns:publish", "dynamodb:scan", "kms:reencryptfrom"}}) == {}


def test_the_deployed_page_role_without_its_publish_grant_is_caught(dhbw_assembly):
    # given the synthesized dhbw template, with sns:Publish taken out of the page function's role
    stack = json.loads((dhbw_assembly / "lecture-dhbw-remediation.template.json").read_text())
    resources = stack["Resources"]
    physical = {
        k: r["Properties"].get("FunctionName")
        or r["Properties"].get("TableName")
        or (f"arn:aws:sns:{REGION}:{ACCOUNT}:{r['Properties']['TopicName']}" if "TopicName" in r["Properties"] else k)
        for k, r in resources.items()
    }
    page_fn = next(k for k, r in resources.items() if r["Properties"].get("FunctionName", "").endswith("-page"))
    topic = next(k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic")
    publish = {
        "function": physical[page_fn],
        "service": "sns",
        "operation": "Publish",
        "region": REGION,
        "params": {"TopicArn": physical[topic], "Message": "m"},
    }
    assert allowed(Policies(stack, physical, ACCOUNT, REGION), publish) == [True]
    stripped = copy.deepcopy(stack)
    for r in stripped["Resources"].values():
        if r["Type"] == "AWS::IAM::Policy":
            statements = r["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if s["Action"] != "sns:Publish"]
    # then the same call is refused
    assert allowed(Policies(stripped, physical, ACCOUNT, REGION), publish) == [False]


# --- resource types (issue 15, Low 2): every grant against the Service Authorization Reference ---------------
def _role_template(*statements):
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": list(statements)}},
            },
        }
    }


def _findings(*statements):
    from sandbox import resource_types

    t = _role_template(*statements)
    return resource_types.check(t, Policies(t, {"Role": "role"}, ACCOUNT, REGION))["Role"]


RDS = f"arn:aws:rds:{REGION}:{ACCOUNT}"
RESTORE_ON = [f"{RDS}:cluster:lecture-dhbw-cluster-restored", f"{RDS}:cluster-snapshot:lecture-dhbw-*", f"{RDS}:subgrp:*"]


def test_a_restore_granted_without_the_parameter_and_option_group_types_is_found():
    # given RestoreDBClusterFromSnapshot on the cluster, the snapshots and the subnet group only (main before the fix)
    found = _findings({"Effect": "Allow", "Action": "rds:RestoreDBClusterFromSnapshot", "Resource": RESTORE_ON})
    # then the two required resource types it lacks are named (AccessDenied in a real account; moto never says)
    assert [m.split(" (")[0] for m in found.missing] == [
        "Role: rds:RestoreDBClusterFromSnapshot needs resource type cluster-pg",
        "Role: rds:RestoreDBClusterFromSnapshot needs resource type og",
    ]
    # and with them granted, nothing is missing
    fixed = _findings(
        {
            "Effect": "Allow",
            "Action": "rds:RestoreDBClusterFromSnapshot",
            "Resource": [*RESTORE_ON, f"{RDS}:cluster-pg:default.*", f"{RDS}:og:default:*"],
        }
    )
    assert fixed.problems() == []


def test_a_grant_on_the_wrong_resource_type_is_found():
    # s3:GetObject on the bucket (not its objects), ListBucket on the objects (not the bucket), a read with no
    # resource-level permission on a table
    found = _findings(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lecture-dhbw-terraform-state"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lecture-dhbw-terraform-state/*"},
        {"Effect": "Allow", "Action": "application-autoscaling:DescribeScalableTargets", "Resource": TABLE_ARN},
    )
    assert sorted(w.split(", which")[0] for w in found.wrong) == [
        f"Role: application-autoscaling:DescribeScalableTargets granted on {TABLE_ARN}",
        "Role: s3:GetObject granted on arn:aws:s3:::lecture-dhbw-terraform-state",
        "Role: s3:ListBucket granted on arn:aws:s3:::lecture-dhbw-terraform-state/*",
    ]
    assert "it takes * only" in next(w for w in found.wrong if "DescribeScalableTargets" in w)
    # the right types are fine, wildcards and * included
    assert (
        _findings(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lecture-dhbw-terraform-state/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lecture-dhbw-terraform-state"},
            {"Effect": "Allow", "Action": "application-autoscaling:DescribeScalableTargets", "Resource": "*"},
        ).problems()
        == []
    )


def test_what_the_reference_does_not_know_is_named_not_judged():
    found = _findings({"Effect": "Allow", "Action": "nosuchservice:DoIt", "Resource": "*"})
    assert found.problems() == [] and found.unjudged == {"nosuchservice:DoIt: not in the Service Authorization Reference data"}


def test_every_role_of_the_deployed_stack_is_granted_on_the_resource_types_its_actions_need(
    dhbw_assembly, dhbw_deployed, tmp_path
):
    from sandbox import resource_types
    from sandbox.engine import Sandbox

    with Sandbox("dhbw", assembly=dhbw_assembly, workdir=tmp_path, deployed=dhbw_deployed) as sb:
        d = sb.deployment
        found = resource_types.check(d.template, Policies(d.template, d.resources, sb.config.account, sb.config.region))
    assert len(found) > 20  # every role: the functions', the state machines', the rules'
    problems = [p for f in found.values() for p in f.problems()]
    assert problems == [], "\n".join(problems)
    unknown = sorted(u for f in found.values() for u in f.unjudged if "not in the Service" in u)
    assert unknown == [], unknown
