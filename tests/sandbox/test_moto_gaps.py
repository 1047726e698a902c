"""The sandbox's fixes of moto's gaps, each shown on moto itself."""

import json
import re

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.backend.execution import Execution

from sandbox.moto_gaps import (
    Patches,
    event_bus_ref_is_its_name,
    fix_execution_status_race,
    put_events_delivered,
    s3_object_lock_from_cloudformation,
    unnamed_executions_get_a_uuid,
)

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


@pytest.fixture
def not_yet_started(monkeypatch):
    """An execution that moto lists before it has started it (what a concurrent StartExecution leaves for a
    moment), held in that state for the test."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # as the sandbox runs it
        sfn = boto3.client("stepfunctions", region_name="eu-central-1")
        arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r")[
            "stateMachineArn"
        ]
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


@pytest.fixture
def executing_sfn(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # as the sandbox runs it
        sfn = boto3.client("stepfunctions", region_name="eu-central-1")
        arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r")[
            "stateMachineArn"
        ]
        yield sfn, arn


def test_an_unnamed_execution_is_named_none_in_moto_and_a_second_one_fails(executing_sfn):
    sfn, arn = executing_sfn
    first = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    assert first.endswith(":None")
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):  # the next console start of the same workflow
        sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def test_an_unnamed_execution_gets_a_uuid_as_aws_gives_it(executing_sfn):
    sfn, arn = executing_sfn
    patches = Patches()
    unnamed_executions_get_a_uuid(patches)
    try:
        first, second = (sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": n}))["executionArn"] for n in (1, 2))
        named = sfn.start_execution(stateMachineArn=arn, name="by-hand")["executionArn"]
    finally:
        patches.undo()
    names = [a.rsplit(":", 1)[1] for a in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", n) for n in names), names
    assert names[0] != names[1] and named.endswith(":by-hand")
    listed = {e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    assert listed == {*names, "by-hand"}


# --- the gaps the live sandbox's real clients hit (the CDK CLI, the AWS CLI, several accounts) ---------------
REGION = "eu-central-1"
ALARM_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "a",
                    "Namespace": "AWS/ECS",
                    "MetricName": "CPUUtilization",
                    "Statistic": "Average",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 80,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "m",
                    "DefinitionString": DEFINITION,
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                },
            },
        },
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
    }
)


@pytest.fixture
def patched(monkeypatch):
    """moto as the sandbox runs it, with the given gap fillers applied for the test."""
    import sandbox.moto_gaps  # noqa: F401 - the AlarmModel, as in the sandbox

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    patches = Patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield patches
        patches.undo()


def _change_set_stack(cfn):
    cfn.create_change_set(StackName="s", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=ALARM_TEMPLATE)
    cfn.execute_change_set(ChangeSetName="cs1", StackName="s")
    return cfn.describe_stacks(StackName="s")["Stacks"][0]


def test_a_create_change_set_in_moto_drops_outputs_and_alarms(patched):
    cfn, cw = boto3.client("cloudformation", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    stack = _change_set_stack(cfn)
    assert not stack.get("Outputs") or not cw.describe_alarms()["MetricAlarms"]


def test_a_change_set_creates_the_stack_as_create_stack_does(patched):
    from sandbox.moto_gaps import fix_change_sets

    fix_change_sets(patched)
    cfn, cw = boto3.client("cloudformation", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    stack = _change_set_stack(cfn)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert [o["OutputKey"] for o in stack["Outputs"]] == ["TopicArn"]
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["a"]
    # an update through a change set rebuilds the outputs too
    updated = json.loads(ALARM_TEMPLATE)
    updated["Outputs"]["Again"] = {"Value": "x"}
    cfn.create_change_set(StackName="s", ChangeSetName="cs2", ChangeSetType="UPDATE", TemplateBody=json.dumps(updated))
    cfn.execute_change_set(ChangeSetName="cs2", StackName="s")
    assert {o["OutputKey"] for o in cfn.describe_stacks(StackName="s")["Stacks"][0]["Outputs"]} == {"TopicArn", "Again"}
    # what cdk diff does after its look: delete the change set, even one already gone, then describe it
    cfn.delete_change_set(ChangeSetName="cs2", StackName="s")
    cfn.delete_change_set(ChangeSetName="cs2", StackName="s")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_change_set(ChangeSetName="cs2", StackName="s")


RETAINED_TABLE = {
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "Properties": {
                "TableName": "audit",
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            },
        },
        "Mode": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/app/mode", "Type": "String", "Value": "on"}},
    },
    "Outputs": {"TableName": {"Value": {"Ref": "Table"}}},
}


def _create_through_a_change_set(cfn, name: str):
    cfn.create_change_set(StackName="t", ChangeSetName=name, ChangeSetType="CREATE", TemplateBody=json.dumps(RETAINED_TABLE))
    cfn.execute_change_set(ChangeSetName=name, StackName="t")


def test_a_stack_created_over_a_retained_table_fails_with_the_tables_json_error_in_moto(patched):
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="t", TemplateBody=json.dumps(RETAINED_TABLE))
    cfn.delete_stack(StackName="t")
    with pytest.raises(Exception, match="invalid XML|Table already exists"):
        cfn.create_stack(StackName="t", TemplateBody=json.dumps(RETAINED_TABLE))


def test_a_change_set_created_over_a_retained_table_rolls_back_with_the_reason(patched):
    from sandbox.moto_gaps import fix_change_sets

    fix_change_sets(patched)
    cfn, ssm = boto3.client("cloudformation", region_name=REGION), boto3.client("ssm", region_name=REGION)
    _create_through_a_change_set(cfn, "first")
    cfn.delete_stack(StackName="t")  # the table is retained
    assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == ["audit"]
    _create_through_a_change_set(cfn, "again")  # accepted: on AWS the failure shows in the stack, not the call
    stack = cfn.describe_stacks(StackName="t")["Stacks"][0]  # a rolled-back stack has no outputs to read
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE" and not stack.get("Outputs")
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="t")["StackEvents"]]
    assert any("Table already exists: audit" in r for r in reasons), reasons
    assert ssm.describe_parameters()["Parameters"] == []  # what it had created is rolled back
    assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == ["audit"]  # retained stays


BOOTSTRAPPED = {  # what every CDK template carries: the bootstrap version, read from SSM
    "Parameters": {
        "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"}
    },
    "Resources": {
        "Mode": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/app/mode", "Type": "String", "Value": "enforce"}}
    },
    "Outputs": {"Mode": {"Value": {"Fn::GetAtt": ["Mode", "Value"]}}},
}


def _update_as_the_cdk_does(cfn, template: dict, name: str):
    cfn.create_change_set(
        StackName="s",
        ChangeSetName=name,
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    cfn.execute_change_set(ChangeSetName=name, StackName="s")


def test_an_update_keeping_an_ssm_typed_parameter_fails_in_moto(patched):
    from moto.cloudformation.responses import CloudFormationResponse

    from sandbox.moto_gaps import fix_change_sets

    moto_own = CloudFormationResponse.create_change_set
    fix_change_sets(patched)  # the CREATE and UPDATE fixes, without the UsePreviousValue one:
    patched.set(CloudFormationResponse, "create_change_set", moto_own)
    boto3.client("ssm", region_name=REGION).put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_change_set(StackName="s", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=json.dumps(BOOTSTRAPPED))
    cfn.execute_change_set(ChangeSetName="cs1", StackName="s")
    changed = json.loads(json.dumps(BOOTSTRAPPED))
    changed["Resources"]["Mode"]["Properties"]["Value"] = "dry-run"
    with pytest.raises(Exception):  # noqa: B017 - moto crashes (AttributeError: the value "30" read as an SSM path)
        _update_as_the_cdk_does(cfn, changed, "cs2")


def test_an_update_keeping_an_ssm_typed_parameter_reads_it_again(patched):
    from sandbox.moto_gaps import fix_change_sets

    fix_change_sets(patched)
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_change_set(StackName="s", ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=json.dumps(BOOTSTRAPPED))
    cfn.execute_change_set(ChangeSetName="cs1", StackName="s")
    changed = json.loads(json.dumps(BOOTSTRAPPED))
    changed["Resources"]["Mode"]["Properties"]["Value"] = "dry-run"
    _update_as_the_cdk_does(cfn, changed, "cs2")
    # the CDK CLI names every deploy's change set the same: the newest of that name is the one it reads
    changed["Resources"]["Mode"]["Properties"]["Value"] = "off"
    cfn.create_change_set(
        StackName="s",
        ChangeSetName="cs2",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(changed),
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    assert cfn.describe_change_set(ChangeSetName="cs2", StackName="s")["ExecutionStatus"] == "AVAILABLE"
    cfn.execute_change_set(ChangeSetName="cs2", StackName="s")
    assert ssm.get_parameter(Name="/app/mode")["Parameter"]["Value"] == "off"
    changed["Resources"]["Mode"]["Properties"]["Value"] = "dry-run"
    _update_as_the_cdk_does(cfn, changed, "cs3")
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert ssm.get_parameter(Name="/app/mode")["Parameter"]["Value"] == "dry-run"
    assert [p["ParameterKey"] for p in stack["Parameters"]] == ["BootstrapVersion"]


POWERTOOLS = "arn:aws:lambda:eu-central-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"


def _function_with_layers(layers: list[str]):
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("h.py", "def handler(e, c): return e")
    lam.create_function(FunctionName="fn", Runtime="python3.13", Role=role, Handler="h.handler", Code={"ZipFile": buf.getvalue()})
    return lam, lam.update_function_configuration(FunctionName="fn", Layers=layers)


def test_a_published_layer_is_unknown_to_moto(patched):
    with pytest.raises(Exception, match="LayerVersion does not exist"):
        _function_with_layers([POWERTOOLS])


def test_a_published_layer_is_taken_and_an_own_missing_one_still_refused(patched):
    from sandbox.moto_gaps import public_layers

    public_layers(patched)
    lam, updated = _function_with_layers([POWERTOOLS])
    assert [layer["Arn"] for layer in updated["Layers"]] == [POWERTOOLS]
    own = "arn:aws:lambda:eu-central-1:123456789012:layer:mine:1"
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="mine"):
        lam.update_function_configuration(FunctionName="fn", Layers=[POWERTOOLS, own])


def test_a_template_url_on_127_0_0_1_is_read_from_its_bucket(patched):
    from sandbox.moto_gaps import fix_template_url_on_loopback

    cfn, s3 = boto3.client("cloudformation", region_name=REGION), boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="assets", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(
        Bucket="assets",
        Key="t.json",
        Body=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}}}).encode(),
    )
    url = "http://127.0.0.1:4599/assets/t.json"
    with pytest.raises(Exception, match="bucket does not exist"):
        cfn.create_stack(StackName="before", TemplateURL=url)
    fix_template_url_on_loopback(patched)
    cfn.create_stack(StackName="after", TemplateURL=url)
    assert cfn.describe_stacks(StackName="after")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_cloudformation_state_machines_land_in_the_executing_backend(patched):
    from sandbox.moto_gaps import executing_cloudformation_state_machines

    cfn, sfn = boto3.client("cloudformation", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    cfn.create_stack(StackName="before", TemplateBody=ALARM_TEMPLATE)
    assert sfn.list_state_machines()["stateMachines"] == []  # created where nothing runs
    cfn.delete_stack(StackName="before")
    executing_cloudformation_state_machines(patched)
    cfn.create_stack(StackName="after", TemplateBody=ALARM_TEMPLATE.replace('"t"', '"t2"').replace('"a"', '"a2"'))
    [machine] = sfn.list_state_machines()["stateMachines"]
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    for _ in range(200):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            break
        import time

        time.sleep(0.02)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_an_alarm_state_change_is_told_once_per_change_and_not_for_the_sandboxs_own(patched):
    from sandbox.moto_gaps import ALARM_EVENTS, alarm_state_changes

    seen = []
    alarm_state_changes(
        patched, lambda alarm, previous, account, region: seen.append((alarm.name, previous, alarm.state_value, account, region))
    )
    cw = boto3.client("cloudwatch", region_name=REGION)
    cw.put_metric_alarm(
        AlarmName="a",
        Namespace="N",
        MetricName="M",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="r")
    cw.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="again")  # no change: no event
    ALARM_EVENTS.quiet = True
    try:
        cw.set_alarm_state(AlarmName="a", StateValue="OK", StateReason="the sandbox's own step")
    finally:
        ALARM_EVENTS.quiet = False
    assert seen == [("a", "OK", "ALARM", "123456789012", REGION)]


def test_the_interpreter_calls_back_in_the_state_machines_account(patched):
    """moto's interpreter signs its task calls with key "ak": they land in the default account."""
    from moto.iam.models import iam_backends

    from sandbox.moto_gaps import fix_interpreter_account

    account = "222222222222"
    iam = iam_backends[account]["aws"]
    iam.create_user(REGION, "op")
    key = iam.create_access_key("op")
    keys = {account: {"id": key.access_key_id, "secret": key.secret_access_key}}
    fix_interpreter_account(patched, keys.__getitem__)
    session = boto3.Session(aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key, region_name=REGION)
    sqs, sfn = session.client("sqs"), session.client("stepfunctions")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    definition = json.dumps(
        {
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "End": True,
                    "Parameters": {"QueueUrl": url, "MessageBody": "hello"},
                }
            },
        }
    )
    arn = sfn.create_state_machine(name="m", definition=definition, roleArn=f"arn:aws:iam::{account}:role/r")["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    import time

    for _ in range(200):
        if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
            break
        time.sleep(0.02)
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"


def test_a_security_group_change_is_told_as_cloudtrail_would_with_its_caller_and_rules(patched):
    from sandbox.moto_gaps import cloudtrail_security_group_changes

    told = []
    cloudtrail_security_group_changes(patched, lambda *args: told.append(args))
    ec2 = boto3.client("ec2", region_name=REGION)
    [group] = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    assert told == [
        (
            "AuthorizeSecurityGroupIngress",
            group["GroupId"],
            [{"protocol": "tcp", "from": 22, "to": 22, "cidr": "0.0.0.0/0"}],
            told[0][3],
            "123456789012",
            REGION,
            {"group_name": None, "vpc_id": None},
        )
    ]
    assert told[0][3].startswith("arn:aws:")  # the caller, as STS knows the key
    with pytest.raises(ec2.exceptions.ClientError):
        ec2.revoke_security_group_ingress(GroupId="sg-nope", IpPermissions=[])
    assert len(told) == 1  # a call that fails is not told


def _a_running_service_task(cluster: str = "c"):
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="f",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        networkMode="awsvpc",
        containerDefinitions=[{"name": "backend", "image": "x", "memory": 512}],
    )
    ecs.create_service(cluster=cluster, serviceName="s", taskDefinition="f", desiredCount=1, launchType="FARGATE")
    [task] = ecs.run_task(
        cluster=cluster,
        taskDefinition="f",
        launchType="FARGATE",
        group="service:s",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["tasks"]
    from moto.ecs.models import ecs_backends

    ecs_backends["123456789012"][REGION].services[f"{cluster}:s"].running_count = 1  # as the sandbox's world sets it
    return ecs, task["taskArn"]


def test_a_stopped_task_tells_nobody_in_moto(patched):
    ecs, arn = _a_running_service_task()
    stopped = ecs.stop_task(cluster="c", task=arn, reason="by hand")["task"]
    # stopped, but there is no hook: nothing would reach EventBridge, and the service still counts it running
    assert stopped["lastStatus"] == "STOPPED"
    assert ecs.describe_services(cluster="c", services=["s"])["services"][0]["runningCount"] == 1


def test_a_stopped_task_is_reported_as_ecs_reports_it(patched):
    from sandbox.moto_gaps import ALARM_EVENTS, ecs_task_stops

    seen = []
    ecs_task_stops(patched, lambda task, account, region: seen.append((task, account, region)))
    ecs, arn = _a_running_service_task()
    ecs.stop_task(cluster="c", task=arn, reason="Essential container in task exited")
    [(task, account, region)] = seen
    assert (account, region) == ("123456789012", REGION)
    assert (
        task["taskArn"] == arn and task["group"] == "service:s" and task["stoppedReason"] == "Essential container in task exited"
    )
    assert task["clusterArn"] == f"arn:aws:ecs:{REGION}:123456789012:cluster/c" and task["containers"] == [{"name": "backend"}]
    assert ecs.describe_services(cluster="c", services=["s"])["services"][0]["runningCount"] == 0
    # a stop the sandbox delivers itself (a game day's stop_tasks step) is not reported twice
    _, again = _a_running_service_task(cluster="d")
    ALARM_EVENTS.quiet = True
    try:
        ecs.stop_task(cluster="d", task=again, reason="by the sandbox")
    finally:
        ALARM_EVENTS.quiet = False
    assert len(seen) == 1


# --- a Wait until a time (TimestampPath), e.g. a maintenance window booked ahead -------------------------------
UNTIL = json.dumps(
    {
        "StartAt": "Booked",
        "States": {"Booked": {"Type": "Wait", "TimestampPath": "$.at", "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
)


@pytest.fixture
def executing(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="eu-central-1")
        arn = sfn.create_state_machine(name="m", definition=UNTIL, roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
        yield sfn, arn


def _status_after(sfn, execution: str, seconds: float, until: str | None = None) -> str:
    import time

    deadline = time.monotonic() + seconds
    while True:
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status == until or time.monotonic() >= deadline:
            return status
        time.sleep(0.02)


def _stamp(at) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_wait_until_a_time_takes_the_real_time_in_moto(executing):
    from datetime import UTC, datetime, timedelta

    sfn, arn = executing
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"at": _stamp(datetime.now(UTC) + timedelta(hours=1))}))
    assert _status_after(sfn, run["executionArn"], 0.5) == "RUNNING"  # and would be for an hour of real time
    sfn.stop_execution(executionArn=run["executionArn"])


def test_a_wait_until_a_time_resumes_when_the_sandboxs_clock_has_passed_it(executing):
    from datetime import timedelta

    from sandbox.moto_gaps import CompressedClock

    sfn, arn = executing
    clock, patches = CompressedClock(), Patches()
    clock.install(patches)
    try:
        at = clock.simulated_now() + timedelta(hours=1)
        run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"at": _stamp(at)}))["executionArn"]
        assert _status_after(sfn, run, 0.3) == "RUNNING"
        clock.advance(30 * 60)  # half way: still waiting
        assert _status_after(sfn, run, 0.3) == "RUNNING" and clock.parked() == 1
        clock.advance(31 * 60)  # past the time
        assert _status_after(sfn, run, 5, until="SUCCEEDED") == "SUCCEEDED"
        assert clock.parked() == 0
    finally:
        patches.undo()


# --- the fleet (issue 16): incident events across accounts, the ops stack's resources -------------------------------
FLEET_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "incidents"}},
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": ["lecture.remediation"]}},
            },
            "Sink": {"Type": "AWS::Oam::Sink", "Properties": {"Name": "fleet", "Policy": {}}},
        },
        "Outputs": {"SinkArn": {"Value": {"Fn::GetAtt": ["Sink", "Arn"]}}, "BusName": {"Value": {"Ref": "Bus"}}},
    }
)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        yield


def test_a_rule_on_a_custom_bus_and_an_oam_sink_fail_in_moto(aws):
    cfn = boto3.client("cloudformation", region_name=REGION)
    with pytest.raises(Exception, match="has_cfn_attr|split"):
        cfn.create_stack(StackName="fleet", TemplateBody=FLEET_TEMPLATE)


def test_the_sink_is_its_arn_and_a_bus_ref_its_name(aws):
    patches = Patches()
    event_bus_ref_is_its_name(patches)
    try:
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="fleet", TemplateBody=FLEET_TEMPLATE)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="fleet")["Stacks"][0]["Outputs"]}
        assert outputs["BusName"] == "incidents"
        assert outputs["SinkArn"].startswith(f"arn:aws:oam:{REGION}:123456789012:sink/")
        events = boto3.client("events", region_name=REGION)
        assert [r["EventBusName"] for r in events.list_rules(EventBusName="incidents")["Rules"]] == ["incidents"]
    finally:
        patches.undo()
    from moto.events.models import EventBus

    assert not hasattr(EventBus, "physical_resource_id")  # undone


def _state_machine_rule(events, sfn) -> None:
    arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r")["stateMachineArn"]
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["lecture.remediation"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn, "RoleArn": "arn:aws:iam::123456789012:role/r"}])


ENTRY = {"Source": "lecture.remediation", "DetailType": "Lecture Incident", "Detail": json.dumps({"customer": "dhbw"})}


def test_put_events_to_a_step_functions_target_fails_in_moto(aws):
    events, sfn = boto3.client("events", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    _state_machine_rule(events, sfn)
    with pytest.raises(Exception, match="Expr not defined"):
        events.put_events(Entries=[ENTRY])


def test_put_events_hands_each_accepted_entry_to_the_sandbox_as_eventbridge_builds_it(aws):
    events, sfn = boto3.client("events", region_name=REGION), boto3.client("stepfunctions", region_name=REGION)
    _state_machine_rule(events, sfn)
    got = []
    patches = Patches()
    put_events_delivered(patches, lambda event, bus, account, region: got.append((event, bus, account, region)))
    try:
        answer = events.put_events(Entries=[ENTRY, {"Source": "x", "DetailType": "y"}])  # the second lacks its Detail
    finally:
        patches.undo()
    assert answer["FailedEntryCount"] == 1
    [(event, bus, account, region)] = got
    assert (bus, account, region) == ("default", "123456789012", REGION)
    assert event["id"] == answer["Entries"][0]["EventId"] and event["account"] == "123456789012"
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "lecture.remediation",
        "Lecture Incident",
        {"customer": "dhbw"},
    )


# --- S3 Object Lock from CloudFormation (the audit export's bucket) ----------------------------------------------
LOCKED_BUCKET = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": "locked-audit-export",
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}},
                },
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        }
    },
}


def _create_locked_bucket():
    boto3.client("cloudformation", region_name="eu-central-1").create_stack(
        StackName="locked", TemplateBody=json.dumps(LOCKED_BUCKET)
    )
    return boto3.client("s3", region_name="eu-central-1")


def test_moto_drops_object_lock_and_versioning_of_a_cloudformation_bucket(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        s3 = _create_locked_bucket()
        assert "Status" not in s3.get_bucket_versioning(Bucket="locked-audit-export")
        with pytest.raises(s3.exceptions.ClientError, match="ObjectLockConfigurationNotFound"):
            s3.get_object_lock_configuration(Bucket="locked-audit-export")


def test_the_gap_filled_the_bucket_is_versioned_and_locked_in_compliance_mode(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    patches = Patches()
    s3_object_lock_from_cloudformation(patches)
    try:
        with mock_aws():
            s3 = _create_locked_bucket()
            assert s3.get_bucket_versioning(Bucket="locked-audit-export")["Status"] == "Enabled"
            config = s3.get_object_lock_configuration(Bucket="locked-audit-export")["ObjectLockConfiguration"]
            assert config["ObjectLockEnabled"] == "Enabled"
            assert (config["Rule"]["DefaultRetention"]["Mode"], config["Rule"]["DefaultRetention"]["Days"]) == ("COMPLIANCE", 30)
            # and an object written to it is locked: its version cannot be deleted before the retention ends
            version = s3.put_object(Bucket="locked-audit-export", Key="a", Body=b"x")["VersionId"]
            assert s3.head_object(Bucket="locked-audit-export", Key="a")["ObjectLockMode"] == "COMPLIANCE"
            with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
                s3.delete_object(Bucket="locked-audit-export", Key="a", VersionId=version)
    finally:
        patches.undo()


# --- speed: a definition is parsed once, a JSON template read as JSON (what they save: the note of 2026-12-03) ---
def test_each_definition_is_lexed_once_and_still_evaluated_per_execution(monkeypatch):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    from sandbox.moto_gaps import _PARSE_TREES, parse_each_definition_once

    lexed = []
    original = AmazonStateLanguageParser.parse
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(lambda d: (lexed.append(d), original(d))[1]))
    kept_before = dict(_PARSE_TREES)  # what earlier tests in this process kept (the order of files varies)
    monkeypatch.setattr("sandbox.moto_gaps._PARSE_TREES", {})
    patches = Patches()
    parse_each_definition_once(patches)
    try:
        definition = json.dumps({"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}})
        first, tree = AmazonStateLanguageParser.parse(definition)
        second, same_tree = AmazonStateLanguageParser.parse(definition)
        assert lexed == [definition] and same_tree is tree
        assert first is not second  # each execution gets its own evaluation components
        for _ in range(2):  # a definition with a syntax error is never kept: it raises every time
            with pytest.raises(ASLParserException):
                AmazonStateLanguageParser.parse('{"StartAt": ')
    finally:
        patches.undo()
    assert _PARSE_TREES == kept_before  # the module's own cache was left alone (the test used its own)


def test_a_json_template_is_read_as_json_and_a_yaml_one_still_by_pyyaml(monkeypatch):
    import yaml
    from moto.cloudformation import models

    from sandbox.moto_gaps import json_templates_read_as_json

    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "2010-09-09"}}}}
    patches = Patches()
    json_templates_read_as_json(patches)
    try:
        monkeypatch.setattr(yaml, "load", lambda *a, **k: pytest.fail("a JSON template went to PyYAML"))
        assert models.Stack.parse_template(json.dumps(template)) == template
        monkeypatch.undo()
        assert models.Stack.parse_template("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n") == {
            "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}
        }
    finally:
        patches.undo()
    assert models.yaml is yaml
