"""The automation table: incident claims, open incidents, cooldowns and the audit trail.

One DynamoDB table, keys pk/sk, TTL attribute ``expires_at``. Conditional writes make claims and
cooldowns safe against duplicate deliveries and concurrent executions.
"""

import json
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

CLAIM_TTL = timedelta(days=7)
OPEN_TTL = timedelta(days=30)


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Store:
    def __init__(self, table, now: datetime | None = None):
        self.table = table  # a boto3 dynamodb Table resource
        self.now = now or datetime.now(timezone.utc)

    # --- incidents -------------------------------------------------------------------------
    def claim(self, key: str, incident_id: str) -> str | None:
        """Claim an alarm state change. Returns None when claimed now, else the incident that holds it."""
        try:
            self.table.put_item(
                Item={"pk": f"claim#{key}", "sk": "claim", "incident_id": incident_id,
                      "claimed_at": self.now.isoformat(), "expires_at": _epoch(self.now + CLAIM_TTL)},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        item = self.table.get_item(Key={"pk": f"claim#{key}", "sk": "claim"}).get("Item", {})
        return str(item.get("incident_id", "unknown"))

    def open_incident(self, alarm: str, incident_id: str, opened_at: str) -> None:
        self.table.put_item(Item={"pk": f"open#{alarm}", "sk": "open", "incident_id": incident_id,
                                  "opened_at": opened_at, "expires_at": _epoch(self.now + OPEN_TTL)})

    def close_incident(self, alarm: str) -> dict | None:
        """Remove and return the open incident of an alarm, if any."""
        resp = self.table.delete_item(Key={"pk": f"open#{alarm}", "sk": "open"}, ReturnValues="ALL_OLD")
        return resp.get("Attributes")

    # --- cooldowns -------------------------------------------------------------------------
    def cooldown_until(self, scope: str) -> datetime | None:
        item = self.table.get_item(Key={"pk": f"cooldown#{scope}", "sk": "cooldown"}).get("Item")
        if not item:
            return None
        until = datetime.fromisoformat(str(item["until"]))
        return until if until > self.now else None

    def start_cooldown(self, scope: str, seconds: int, holder: str) -> datetime | None:
        """Start a cooldown unless one is running. Returns None on success, else when the running one ends."""
        until = self.now + timedelta(seconds=seconds)
        try:
            self.table.put_item(
                Item={"pk": f"cooldown#{scope}", "sk": "cooldown", "until": until.isoformat(),
                      "until_epoch": _epoch(until), "holder": holder,
                      "expires_at": _epoch(until + timedelta(days=1))},
                ConditionExpression="attribute_not_exists(pk) OR until_epoch <= :now",
                ExpressionAttributeValues={":now": _epoch(self.now)},
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        return self.cooldown_until(scope) or self.now

    # --- audit trail -----------------------------------------------------------------------
    def audit(self, subject: str, step: str, record: dict) -> None:
        """Append an audit row. Kept without expiry: it is the audit trail, never overwritten."""
        self.table.put_item(Item={
            "pk": f"audit#{subject}", "sk": f"{self.now.isoformat()}#{step}", "step": step,
            **{k: (v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in record.items() if v is not None},
        }, ConditionExpression="attribute_not_exists(pk)")

    def audit_trail(self, subject: str) -> list[dict]:
        resp = self.table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"audit#{subject}"})
        return resp.get("Items", [])
