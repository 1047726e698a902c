"""EventBridge delivery, which moto does not do for Step Functions targets.

Events are matched against the deployed rules with moto's own pattern matcher, the target's
Input / InputPath / InputTransformer is applied, and the target state machine is started. A target
that cannot be started is retried per the rule's RetryPolicy, then the event goes to its DLQ.
"""

import json
import re
import uuid
from datetime import UTC, datetime


def alarm_event(
    alarm: dict, state: str, previous: str, reason: str, account: str, region: str, at: datetime | None = None
) -> dict:
    """A "CloudWatch Alarm State Change" event as CloudWatch emits it for a metric alarm."""
    at = at or datetime.now(UTC)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    metric = {
        "id": "m1",
        "metricStat": {
            "metric": {
                "namespace": alarm.get("Namespace"),
                "name": alarm.get("MetricName"),
                "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
            },
            "period": alarm.get("Period"),
            "stat": alarm.get("Statistic"),
        },
        "returnData": True,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [alarm["AlarmArn"]],
        "detail": {
            "alarmName": alarm["AlarmName"],
            "state": {"value": state, "reason": reason, "reasonData": json.dumps({"version": "1.0"}), "timestamp": stamp},
            "previousState": {"value": previous, "reason": "previous state", "timestamp": stamp},
            "configuration": {"description": alarm.get("AlarmDescription", ""), "metrics": [metric]},
        },
    }


def parameter_change_event(
    name: str, caller_arn: str, account: str, region: str, event_name: str = "PutParameter", at: datetime | None = None
) -> dict:
    """An "AWS API Call via CloudTrail" event for an SSM parameter change, as a trail delivers it."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ssm",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "ssm.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventType": "AwsApiCall",
            "userIdentity": {"type": "IAMUser", "arn": caller_arn, "accountId": account},
            "requestParameters": {"name": name, "type": "String", "overwrite": True},
            "responseElements": {"version": 2, "tier": "Standard"},
        },
    }


def resource_policy_event(
    event_name: str, resource_arn: str, caller_arn: str, account: str, region: str, at: datetime | None = None
) -> dict:
    """An "AWS API Call via CloudTrail" event of DynamoDB's PutResourcePolicy / DeleteResourcePolicy."""
    at = at or datetime.now(UTC)
    request: dict = {"resourceArn": resource_arn}
    if event_name == "PutResourcePolicy":
        request["policy"] = '{"Version": "2012-10-17", "Statement": []}'
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.dynamodb",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "eventSource": "dynamodb.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "eventTime": _stamp(at),
            "eventType": "AwsApiCall",
            "sourceIPAddress": "203.0.113.7",
            "userIdentity": {"type": "IAMUser", "arn": caller_arn, "accountId": account},
            "requestParameters": request,
            "responseElements": {"revisionId": "1700000000000"} if event_name == "PutResourcePolicy" else None,
        },
    }


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def security_group_event(
    event_name: str,
    group_id: str,
    caller_arn: str,
    account: str,
    region: str,
    *,
    permissions: list[dict] | None = None,
    source_ip: str = "203.0.113.7",
    caller_type: str = "IAMUser",
    at: datetime | None = None,
    group_name: str | None = None,
    vpc_id: str | None = None,
) -> dict:
    """An "AWS API Call via CloudTrail" event of an EC2 security-group call (Authorize/Revoke...Ingress/Egress,
    Create/DeleteSecurityGroup), as a trail delivers it. ``permissions``: [{"protocol": "tcp", "from": 22,
    "to": 22, "cidr": "0.0.0.0/0"}] -> requestParameters.ipPermissions in CloudTrail's {"items": [...]} shape."""
    at = at or datetime.now(UTC)
    request: dict = {"groupId": group_id}
    response: dict = {"requestId": str(uuid.uuid4()), "_return": True}
    if event_name == "CreateSecurityGroup":
        request = {
            "groupName": group_name or f"{group_id}-name",
            "groupDescription": "created by hand",
            "vpcId": vpc_id or "vpc-0a1b2c3d",
        }
        response["groupId"] = group_id
    if permissions:
        request["ipPermissions"] = {
            "items": [
                {
                    "ipProtocol": p.get("protocol", "tcp"),
                    "fromPort": p.get("from"),
                    "toPort": p.get("to", p.get("from")),
                    "groups": {},
                    "ipRanges": {"items": [{"cidrIp": p.get("cidr", "0.0.0.0/0")}]},
                    "ipv6Ranges": {},
                    "prefixListIds": {},
                }
                for p in permissions
            ]
        }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "eventSource": "ec2.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "eventTime": _stamp(at),
            "eventType": "AwsApiCall",
            "eventID": str(uuid.uuid4()),
            "userIdentity": {
                "type": caller_type,
                "arn": caller_arn,
                "accountId": account,
                "principalId": "AIDAEXAMPLE",
                "userName": caller_arn.rsplit("/", 1)[-1],
            },
            "sourceIPAddress": source_ip,
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": request,
            "responseElements": response,
        },
    }


def console_sign_in_event(
    user: str, account: str, region: str, *, success: bool = False, source_ip: str = "198.51.100.23", at: datetime | None = None
) -> dict:
    """An "AWS Console Sign In via CloudTrail" event of an IAM user's sign-in (failed unless ``success``)."""
    at = at or datetime.now(UTC)
    detail: dict = {
        "eventVersion": "1.08",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": region,
        "eventTime": _stamp(at),
        "eventType": "AwsConsoleSignIn",
        "eventID": str(uuid.uuid4()),
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "accountId": account,
            "userName": user,
            "arn": f"arn:aws:iam::{account}:user/{user}",
        },
        "sourceIPAddress": source_ip,
        "userAgent": "Mozilla/5.0",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"},
    }
    if not success:
        detail["errorMessage"] = "Failed authentication"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS Console Sign In via CloudTrail",
        "source": "aws.signin",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _ms_stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def ecs_task_stopped_event(
    task: dict, account: str, region: str, *, stop_code: str | None = None, at: datetime | None = None
) -> dict:
    """An "ECS Task State Change" for a task that stopped, as ECS sends it (``task``: DescribeTasks' shape)."""
    at = at or datetime.now(UTC)
    detail = {
        "clusterArn": task["clusterArn"],
        "taskArn": task["taskArn"],
        "group": task.get("group"),
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stoppedReason": task.get("stoppedReason") or "",
        "startedBy": task.get("startedBy"),
        "taskDefinitionArn": task.get("taskDefinitionArn"),
        "launchType": task.get("launchType", "FARGATE"),
        "containers": [
            {"name": c.get("name"), "lastStatus": "STOPPED", "exitCode": c.get("exitCode", 1)} for c in task.get("containers", [])
        ],
        "stoppedAt": _ms_stamp(at),
        "updatedAt": _ms_stamp(at),
        "version": 3,
    }
    if stop_code or task.get("stopCode"):
        detail["stopCode"] = stop_code or task.get("stopCode")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [task["taskArn"]],
        "detail": detail,
    }


def ecs_service_action_event(
    service_arn: str,
    cluster_arn: str,
    event_name: str,
    account: str,
    region: str,
    *,
    event_type: str = "WARN",
    reason: str | None = None,
    at: datetime | None = None,
) -> dict:
    """An "ECS Service Action" (SERVICE_TASK_START_IMPAIRED, SERVICE_STEADY_STATE ...), as ECS sends it."""
    at = at or datetime.now(UTC)
    detail: dict = {"eventType": event_type, "eventName": event_name, "clusterArn": cluster_arn, "createdAt": _ms_stamp(at)}
    if reason:
        detail["reason"] = reason
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Service Action",
        "source": "aws.ecs",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [service_arn],
        "detail": detail,
    }


def rds_cluster_event(
    cluster: str,
    event_id: str,
    message: str,
    account: str,
    region: str,
    *,
    category: str = "failover",
    at: datetime | None = None,
) -> dict:
    """An "RDS DB Cluster Event" (RDS-EVENT-0073 failover started, 0150 stopped ...), as RDS sends it."""
    at = at or datetime.now(UTC)
    arn = f"arn:aws:rds:{region}:{account}:cluster:{cluster}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "RDS DB Cluster Event",
        "source": "aws.rds",
        "account": account,
        "time": _stamp(at),
        "region": region,
        "resources": [arn],
        "detail": {
            "EventCategories": [category],
            "SourceType": "CLUSTER",
            "SourceArn": arn,
            "Date": _ms_stamp(at),
            "Message": message,
            "SourceIdentifier": cluster,
            "EventID": event_id,
        },
    }


def scheduled_event(rule_arn: str, account: str, region: str, at: datetime | None = None) -> dict:
    """A "Scheduled Event" as EventBridge delivers it to a schedule rule's targets."""
    at = at or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def _path(data, path: str):
    if path in ("$", ""):
        return data
    for part in re.findall(r"[^.$\[\]]+", path):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def target_input(target: dict, event: dict) -> str:
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(_path(event, target["InputPath"]))
    if "InputTransformer" in target:
        t = target["InputTransformer"]
        values = {k: _path(event, p) for k, p in t.get("InputPathsMap", {}).items()}
        text = t["InputTemplate"]
        for k, v in values.items():
            text = text.replace(f'"<{k}>"', json.dumps(v)).replace(f"<{k}>", v if isinstance(v, str) else json.dumps(v))
        return text
    return json.dumps(event)


class EventBus:
    """One bus of one account (the default bus unless ``name``). A target that is another bus (a cross-account
    EventBridge target, with its role) hands the event, as it is, to ``forward(event, bus_arn)``; a Lambda target is
    invoked through ``lambdas``."""

    def __init__(self, events, sfn, sqs, name: str = "default", forward=None, lambdas=None):
        self.events, self.sfn, self.sqs, self.lambdas = events, sfn, sqs, lambdas
        self.name = name
        self.forward = forward

    def matching_targets(self, event: dict) -> list[tuple[dict, dict]]:
        from moto.events.models import EventPattern

        matches = []
        # a schedule rule's own firing reaches its targets only (the rule's ARN is the event's resource)
        fired = event.get("resources", []) if event.get("detail-type") == "Scheduled Event" else []
        for rule in self.events.list_rules(EventBusName=self.name).get("Rules", []):
            if rule.get("State") != "ENABLED":
                continue
            if (
                "ScheduleExpression" in rule
                and rule["Arn"] in fired
                or "EventPattern" in rule
                and EventPattern.load(rule["EventPattern"]).matches_event(event)
            ):
                targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=self.name).get("Targets", [])
                for target in targets:
                    matches.append((rule, target))
        return matches

    def put(self, event: dict) -> list[dict]:
        """Deliver one event; returns one record per target: started execution, or dead-lettered."""
        deliveries = []
        for rule, target in self.matching_targets(event):
            if ":event-bus/" in target["Arn"]:
                deliveries += self._forward(rule, target, event)
                continue
            payload = target_input(target, event)
            attempts = 1 + int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0))
            last_error = None
            for _ in range(attempts):
                if ":lambda:" in target["Arn"] and self.lambdas is not None:
                    # EventBridge invokes a function asynchronously: delivered once Lambda takes it; the function's
                    # own error is its own (the record says it), not a failed delivery
                    resp = self.lambdas.invoke(FunctionName=target["Arn"], InvocationType="RequestResponse", Payload=payload)
                    result = resp["Payload"].read().decode()
                    deliveries.append(
                        {
                            "rule": rule["Name"],
                            "target": target["Arn"],
                            "invoked": True,
                            "error": resp.get("FunctionError"),
                            "result": json.loads(result) if result else None,
                        }
                    )
                    break
                try:
                    # EventBridge names the execution with a fresh id, as the console does
                    resp = self.sfn.start_execution(stateMachineArn=target["Arn"], input=payload, name=str(uuid.uuid4()))
                    deliveries.append({"rule": rule["Name"], "target": target["Arn"], "execution": resp["executionArn"]})
                    break
                except Exception as exc:  # noqa: BLE001 - EventBridge retries any failure
                    last_error = f"{type(exc).__name__}: {exc}"
            else:
                dlq = target.get("DeadLetterConfig", {}).get("Arn")
                if dlq:
                    url = self.sqs.get_queue_url(QueueName=dlq.rsplit(":", 1)[-1])["QueueUrl"]
                    self.sqs.send_message(
                        QueueUrl=url,
                        MessageBody=json.dumps(event),
                        MessageAttributes={"ERROR_MESSAGE": {"DataType": "String", "StringValue": str(last_error)[:256]}},
                    )
                deliveries.append({"rule": rule["Name"], "target": target["Arn"], "dead_lettered": dlq, "error": last_error})
        return deliveries

    def _forward(self, rule: dict, target: dict, event: dict) -> list[dict]:
        """EventBridge puts the event on the target bus as it is (its account stays the sender's)."""
        if self.forward is None:
            return [{"rule": rule["Name"], "target": target["Arn"], "dead_lettered": None, "error": "no such bus here"}]
        return [{"rule": rule["Name"], "target": target["Arn"], "forwarded": True}] + list(self.forward(event, target["Arn"]))
