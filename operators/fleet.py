"""What `status --all` reads from the ops account (issue 16): the fleet table's row of each customer, in one Query.

The ops stack's correlate function writes them from the incident events every customer stack emits
(lambdas/logic/correlate.py): its open incidents, its mode switch as admit last read it, its last runbook outcome,
and when it was last heard from. A customer with no row has never reported (not reachable from the ops account).
"""

from typing import Any

from catalog import naming

CUSTOMERS_PK = "fleet#customers"  # lambdas/logic/correlate.py writes them


def _plain(value: dict[str, Any]) -> Any:
    ((kind, v),) = value.items()
    if kind in ("SS", "NS"):
        return sorted(v)
    return None if kind == "NULL" else v


def fleet_status(clients: Any, customers: list[Any]) -> list[dict[str, Any]]:
    """One row per customer of the customer files, from one Query of the ops table (its pages, if any)."""
    ddb = clients("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": naming.ops_table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": CUSTOMERS_PK}},
    }
    rows: dict[str, dict[str, Any]] = {}
    while True:
        resp = ddb.query(**kwargs)
        for item in resp.get("Items", []):
            plain = {k: _plain(v) for k, v in item.items()}
            rows[str(plain["sk"])] = plain
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    out = []
    for config in customers:
        row = rows.get(config.customer)
        out.append(
            {
                "customer": config.customer,
                "account": config.account,
                "region": config.region,
                "source": "ops",
                "reachable": row is not None,
                "last_heard": (row or {}).get("last_event_at") or (row or {}).get("last_outcome_at"),
                "mode": (row or {}).get("mode") or "unknown",
                "open_incidents": list((row or {}).get("open_incidents") or []),
                "last_outcome": (row or {}).get("last_outcome"),
                "last_incident": (row or {}).get("last_incident"),
            }
        )
    return out
