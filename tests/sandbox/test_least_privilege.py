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
