"""The audit trail's daily export: the day's audit rows, with their chain fields and digests, as one JSON Lines
object in the Object Lock bucket (compliance mode: kept for the customer's retention, deletable by nobody).

A row's day is its time (the sort key's first part); the rows go in chain order. The object is written once
(If-None-Match: a second firing for the same day changes nothing) and names the chain head it was read at."""

import json
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from catalog import audit_chain, naming
from lambdas import aws


def _day_of(row: dict[str, Any]) -> date | None:
    try:
        return datetime.fromisoformat(str(row["sk"]).split("#", 1)[0]).date()
    except (KeyError, ValueError):
        return None


def rows_of_day(table: Any, day: date) -> list[dict[str, Any]]:
    """Every audit row whose time is on ``day`` (UTC), in chain order (consistent scan, all pages)."""
    kwargs: dict[str, Any] = {
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": naming.AUDIT_KEY_PREFIX},
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        resp = table.scan(**kwargs)
        found += [dict(i) for i in resp.get("Items", []) if _day_of(i) == day]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return sorted(found, key=lambda r: (int(r.get(audit_chain.CHAIN_SEQ, 0)), str(r["sk"])))


def export_day(table: Any, s3: Any, *, bucket: str, day: date) -> dict[str, Any]:
    rows = rows_of_day(table, day)
    key = naming.audit_export_key(day.isoformat())
    body = "".join(json.dumps(audit_chain.canonical_row(r), sort_keys=True, separators=(",", ":")) + "\n" for r in rows)
    try:
        # a put into an Object Lock bucket needs a checksum header (older boto3 sends none by itself)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body.encode("utf-8"),
            ContentType="application/x-ndjson",
            IfNoneMatch="*",
            ChecksumAlgorithm="SHA256",
        )
    except ClientError as exc:
        if aws.error_code(exc) not in ("PreconditionFailed", "412"):
            raise
        return {"day": day.isoformat(), "bucket": bucket, "key": key, "rows": len(rows), "written": False}
    return {"day": day.isoformat(), "bucket": bucket, "key": key, "rows": len(rows), "written": True}


def day_before(event_time: str) -> date:
    """The day a firing exports: the one before the scheduled event's time (EventBridge's ``time``)."""
    return (datetime.fromisoformat(event_time).date()) - timedelta(days=1)
