"""What the CLI reads from a customer's account: the audit trail (history), the running executions, and the status
of each customer. Read-only. ``clients`` is a callable service-name -> boto3 client."""

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from catalog import audit_chain, naming
from catalog.runbooks import runbook_names
from operators import approvals
from operators.aws import Clients, error_code, not_deployed


def _scan(clients: Clients, config: Any, prefix: str) -> list[dict[str, Any]]:
    """Every item of the automation table whose pk starts with ``prefix`` (all pages)."""
    ddb = clients("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": naming.table_name(config.customer),
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": prefix}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        resp = ddb.scan(**kwargs)
        items.extend({k: _plain(v) for k, v in item.items()} for item in resp.get("Items", []))
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain value (the table holds strings and numbers; numbers stay text)."""
    ((kind, v),) = value.items()
    return None if kind == "NULL" else v


def audit_chain_of(clients: Clients, config: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The customer's audit rows (every audit# item) and the chain head (catalog/audit_chain.py), consistently read."""
    rows = _scan(clients, config, naming.AUDIT_KEY_PREFIX)
    resp = clients("dynamodb").get_item(
        TableName=naming.table_name(config.customer),
        Key={"pk": {"S": audit_chain.CHAIN_HEAD_PK}, "sk": {"S": audit_chain.CHAIN_HEAD_SK}},
        ConsistentRead=True,
    )
    head = resp.get("Item")
    return rows, ({k: _plain(v) for k, v in head.items()} if head else None)


def history(clients: Clients, config: Any, *, limit: int, runbook: str | None = None) -> list[dict[str, Any]]:
    """The runbook executions' audit rows (pk audit#<execution>, sk <time>#report), newest first."""
    rows = []
    for item in _scan(clients, config, naming.AUDIT_KEY_PREFIX):
        if not item["sk"].endswith("#report") or (runbook and item.get("runbook") != runbook):
            continue
        plan = _json(item.get("plan"))
        message = plan.get("message", "") if isinstance(plan, dict) else ""
        if item.get("error"):
            message = f"{item['error']}: {item.get('cause', '')}"
        rows.append(
            {
                "time": item["sk"].removesuffix("#report"),
                "runbook": item.get("runbook", ""),
                "execution": item["pk"].removeprefix(naming.AUDIT_KEY_PREFIX),
                "outcome": item.get("outcome", ""),
                "message": message,
            }
        )
    rows.sort(key=lambda r: r["time"], reverse=True)
    return rows[:limit]


def running(clients: Clients, config: Any, *, runbook: str | None = None) -> list[dict[str, Any]]:
    """The runbook executions still running (Step Functions ListExecutions, statusFilter RUNNING, on each of the
    customer's runbook state machines), newest first, as history rows: outcome ``running``; the message says
    when one waits for an approval. A runbook the stack does not have (its state machine is missing) is skipped."""
    sfn = clients("stepfunctions")
    waiting = {p["execution"]: p for p in approvals.pending(clients, config)}
    rows = []
    for name in [runbook] if runbook else runbook_names():
        arn = f"arn:aws:states:{config.region}:{config.account}:stateMachine:{naming.state_machine_name(config.customer, name)}"
        kwargs: dict[str, Any] = {"stateMachineArn": arn, "statusFilter": "RUNNING"}
        try:
            while True:
                resp = sfn.list_executions(**kwargs)
                for e in resp.get("executions", []):
                    pending = waiting.get(e["name"])
                    rows.append(
                        {
                            "time": _iso(e["startDate"]),
                            "runbook": name,
                            "execution": e["name"],
                            "outcome": "running",
                            "message": f"waiting for approval: {pending['summary']}" if pending else "running",
                        }
                    )
                if not resp.get("nextToken"):
                    break
                kwargs["nextToken"] = resp["nextToken"]
        except ClientError as exc:
            if error_code(exc) != "StateMachineDoesNotExist":
                raise
    rows.sort(key=lambda r: (r["time"], r["execution"]), reverse=True)
    return rows


def _iso(moment: Any) -> str:
    return moment.astimezone(UTC).isoformat() if isinstance(moment, datetime) else str(moment)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def deployed(clients: Clients, config: Any) -> None:
    """Raise the "not deployed" CliError when the customer's table is not there."""
    try:
        clients("dynamodb").describe_table(TableName=naming.table_name(config.customer))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise not_deployed(config) from None
        raise


def status(clients: Clients, config: Any) -> dict[str, Any]:
    """One customer's line of `status`: ECS running/desired per service (with its open maintenance window), the
    RDS cluster's status, open incidents, the mode switch, pending approvals (their runbooks; ``approvals``: each
    one's execution, runbook, requested, expires, summary)."""
    deployed(clients, config)
    pending = approvals.pending(clients, config)
    ecs = _ecs(clients, config)
    windows = open_windows(clients, config)
    for e in ecs:
        if e["service"] in windows:
            e["window"] = windows[e["service"]]
    return {
        "customer": config.customer,
        "mode": _mode(clients, config),
        "ecs": ecs,
        "rds": _rds(clients, config),
        "open_incidents": _open_incidents(clients, config),
        "pending_approvals": [p.get("runbook", "?") for p in pending],
        "approvals": [{k: p[k] for k in ("execution", "runbook", "requested", "expires", "summary")} for p in pending],
    }


def open_windows(clients: Clients, config: Any, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The services' open maintenance windows (pk window#<service>, sk open: see maintenance-window): service ->
    {execution, opened, expires}. An expired one (its execution crashed) is not open."""
    now = now or datetime.now(UTC)
    ddb = clients("dynamodb")
    found = {}
    for s in config.ecs.services:
        item = ddb.get_item(
            TableName=naming.table_name(config.customer),
            ConsistentRead=True,
            Key={"pk": {"S": naming.window_key(s.name)}, "sk": {"S": "open"}},
        ).get("Item")
        if not item:
            continue
        window = {k: _plain(item[k]) for k in ("execution", "opened", "expires") if k in item}
        try:
            expires = datetime.fromisoformat(str(window.get("expires", "")))
        except ValueError:
            expires = None
        if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
            continue
        found[s.name] = window
    return found


def _mode(clients: Clients, config: Any) -> str:
    try:
        return str(clients("ssm").get_parameter(Name=naming.mode_parameter_name(config.customer))["Parameter"]["Value"])
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return "missing (read as dry-run)"
        raise


def _ecs(clients: Clients, config: Any) -> list[dict[str, Any]]:
    names = [s.name for s in config.ecs.services]
    try:
        resp = clients("ecs").describe_services(cluster=config.ecs.cluster, services=names)
    except ClientError as exc:
        if error_code(exc) == "ClusterNotFoundException":
            return [{"service": n, "problem": f"cluster {config.ecs.cluster} not found"} for n in names]
        raise
    found = {s["serviceName"]: s for s in resp.get("services", [])}
    return [
        {"service": n, "running": found[n]["runningCount"], "desired": found[n]["desiredCount"]}
        if n in found and found[n].get("status") != "INACTIVE"
        else {"service": n, "problem": "not found"}
        for n in names
    ]


def _rds(clients: Clients, config: Any) -> str:
    try:
        clusters = clients("rds").describe_db_clusters(DBClusterIdentifier=config.rds.cluster)["DBClusters"]
    except ClientError as exc:
        if error_code(exc) == "DBClusterNotFoundFault":
            return f"{config.rds.cluster} not found"
        raise
    return str(clusters[0]["Status"]) if clusters else f"{config.rds.cluster} not found"


def _open_incidents(clients: Clients, config: Any) -> list[dict[str, Any]]:
    """Open incidents: items pk open#<alarm> (lambdas/logic/store.py), oldest first."""
    rows = [
        {"alarm": i["pk"].removeprefix("open#"), "incident": i.get("incident_id", ""), "opened": i.get("opened_at", "")}
        for i in _scan(clients, config, "open#")
    ]
    return sorted(rows, key=lambda r: r["opened"])
