"""The automation table: incident claims, open incidents, cooldowns and the audit trail.

One DynamoDB table, keys pk/sk, TTL attribute ``expires_at``. Conditional writes (a transaction for an
alarm state change) make claims, incidents and cooldowns safe against duplicate, late and concurrent
deliveries.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from catalog import audit_chain, naming
from lambdas.errors import AuditNotAppended

# A DynamoDB item as the table resource returns it (numbers come back as Decimal).
Item = dict[str, Any]

CLAIM_TTL = timedelta(days=7)
OPEN_TTL = timedelta(days=30)
AUDIT_ATTEMPTS = 8  # appends that lose the race for the chain head, then the row fails loudly


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def _item(response: dict[str, Any]) -> Item | None:
    item = response.get("Item")
    return dict(item) if item is not None else None


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


# What transition() found when its one conditional write was refused.
DONE, DUPLICATE, STALE, CHANGED = "done", "duplicate", "stale", "changed"


class Store:
    def __init__(self, table: Any, now: datetime | None = None) -> None:
        self.table = table  # a boto3 dynamodb Table resource
        self.now = now or datetime.now(UTC)

    # --- incidents -------------------------------------------------------------------------
    def open_incident_of(self, alarm: str) -> Item | None:
        return _item(self.table.get_item(Key={"pk": f"open#{alarm}", "sk": "open"}, ConsistentRead=True))

    def _state_update(self, alarm: str, state: str, at_ms: int) -> dict[str, Any]:
        # Newer or equal (a redelivery) passes; an older state change is stale.
        return {
            "Key": {"pk": f"state#{alarm}", "sk": "state"},
            "UpdateExpression": "SET at_ms = :ms, #s = :s, expires_at = :exp",
            "ConditionExpression": "attribute_not_exists(pk) OR at_ms <= :ms",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":ms": at_ms, ":s": state, ":exp": _epoch(self.now + OPEN_TTL)},
        }

    def see_state(self, alarm: str, state: str, at_ms: int) -> bool:
        """Remember the latest state change handled for an alarm. False when this one is older (stale)."""
        try:
            self.table.update_item(**self._state_update(alarm, state, at_ms))
            return True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        return False

    def last_state(self, alarm: str) -> Item:
        return _item(self.table.get_item(Key={"pk": f"state#{alarm}", "sk": "state"}, ConsistentRead=True)) or {}

    def transition(
        self,
        key: str,
        incident_id: str,
        *,
        alarm: str,
        state: str,
        at_ms: int,
        expected: str | None,
        then: str,
        opened_at: str = "",
        severity: str = "",
        opened_by: str = "",
    ) -> tuple[str, str | None]:
        """One conditional write (a transaction) for one alarm state change: remember it as the latest, claim
        it, and open / keep / close the alarm's incident, or none of these.

        expected: the open incident read just before (None: none was open). then: "open" (expected None),
        "keep" or "close" (expected set), "none" (expected None, nothing opens). severity: what an incident that
        opens was paged at (its OK resolves that page, even when a maintenance window opened meanwhile).
        opened_by: the service event kind that opens it (catalog/service_events.py), "" for the alarm itself.
        Returns (DONE, None), (DUPLICATE, holder), (STALE, None) or (CHANGED, None): the open incident is no
        longer ``expected`` (another execution opened or closed it): read again and retry."""
        # The table resource's client serializes Python values itself, like put_item does.
        name = self.table.name
        open_key = {"pk": f"open#{alarm}", "sk": "open"}
        claim = {
            "Put": {
                "TableName": name,
                "ConditionExpression": "attribute_not_exists(pk)",
                "Item": {
                    "pk": f"claim#{key}",
                    "sk": "claim",
                    "incident_id": incident_id,
                    "claimed_at": self.now.isoformat(),
                    "expires_at": _epoch(self.now + CLAIM_TTL),
                },
            }
        }
        if then == "open":
            incident = {
                "Put": {
                    "TableName": name,
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "Item": {
                        **open_key,
                        "incident_id": incident_id,
                        "opened_at": opened_at,
                        **({"severity": severity} if severity else {}),
                        **({"opened_by": opened_by} if opened_by else {}),
                        "expires_at": _epoch(self.now + OPEN_TTL),
                    },
                }
            }
        elif then == "none":
            incident = {"ConditionCheck": {"TableName": name, "Key": open_key, "ConditionExpression": "attribute_not_exists(pk)"}}
        else:
            op = "Delete" if then == "close" else "ConditionCheck"
            incident = {
                op: {
                    "TableName": name,
                    "Key": open_key,
                    "ConditionExpression": "incident_id = :inc",
                    "ExpressionAttributeValues": {":inc": expected},
                }
            }
        seen = {"Update": {"TableName": name, **self._state_update(alarm, state, at_ms)}}
        try:
            self.table.meta.client.transact_write_items(TransactItems=[claim, incident, seen])
            return DONE, None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            cancelled = exc
            failed = [r.get("Code") == "ConditionalCheckFailed" for r in exc.response.get("CancellationReasons", [])]
        if len(failed) == 3 and failed[2]:
            return STALE, None
        if len(failed) == 3 and failed[0]:
            item = self.table.get_item(Key={"pk": f"claim#{key}", "sk": "claim"}, ConsistentRead=True).get("Item", {})
            return DUPLICATE, str(item.get("incident_id", "unknown"))
        if len(failed) == 3 and failed[1]:
            return CHANGED, None
        raise cancelled

    def claim(self, key: str, holder: str) -> str | None:
        """Claim one delivery (e.g. a schedule's firing). None when claimed now, else who holds it already."""
        try:
            self.table.put_item(
                Item={
                    "pk": f"claim#{key}",
                    "sk": "claim",
                    "incident_id": holder,
                    "claimed_at": self.now.isoformat(),
                    "expires_at": _epoch(self.now + CLAIM_TTL),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        item = self.table.get_item(Key={"pk": f"claim#{key}", "sk": "claim"}, ConsistentRead=True).get("Item", {})
        return str(item.get("incident_id", "unknown"))

    # --- autoscaling floors ---------------------------------------------------------------
    def remember_floor(self, scope: str, floor: int, incident_id: str) -> bool:
        """Keep the floor from before the first raise; a later raise (same or next incident) keeps the first."""
        try:
            self.table.put_item(
                Item={
                    "pk": f"floor#{scope}",
                    "sk": "floor",
                    "floor": floor,
                    "incident_id": incident_id,
                    "saved_at": self.now.isoformat(),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        return False

    def floor(self, scope: str) -> Item | None:
        return _item(self.table.get_item(Key={"pk": f"floor#{scope}", "sk": "floor"}, ConsistentRead=True))

    def forget_floor(self, scope: str, floor: int) -> None:
        """Drop the remembered floor once it is back, unless another raise replaced it meanwhile."""
        try:
            self.table.delete_item(
                Key={"pk": f"floor#{scope}", "sk": "floor"},
                ConditionExpression="#f = :f",
                ExpressionAttributeNames={"#f": "floor"},
                ExpressionAttributeValues={":f": floor},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise

    # --- alerts a runbook has paged (e.g. one per stale lock) ----------------------------------
    def paged_alerts(self, scope: str) -> dict[str, Any]:
        """The alerts a runbook triggered and has not resolved yet, by key (what it last sent for each)."""
        item = _item(self.table.get_item(Key={"pk": f"alerts#{scope}", "sk": "alerts"}, ConsistentRead=True))
        return json.loads(str(item["alerts"])) if item else {}

    def set_paged_alerts(self, scope: str, alerts: dict[str, Any]) -> None:
        if alerts:
            self.table.put_item(
                Item={"pk": f"alerts#{scope}", "sk": "alerts", "alerts": json.dumps(alerts), "updated_at": self.now.isoformat()}
            )
        else:
            self.table.delete_item(Key={"pk": f"alerts#{scope}", "sk": "alerts"})

    # --- cooldowns -------------------------------------------------------------------------
    def cooldown_until(self, scope: str) -> datetime | None:
        item = self.table.get_item(Key={"pk": f"cooldown#{scope}", "sk": "cooldown"}).get("Item")
        if not item:
            return None
        until = datetime.fromisoformat(str(item["until"]))
        return until if until > self.now else None

    def cooldown_holder(self, scope: str) -> str | None:
        """Who started the running cooldown (an execution re-run after its guard recognises its own)."""
        item = self.table.get_item(Key={"pk": f"cooldown#{scope}", "sk": "cooldown"}).get("Item")
        return str(item["holder"]) if item and self.cooldown_until(scope) else None

    def start_cooldown(self, scope: str, seconds: int, holder: str) -> datetime | None:
        """Start a cooldown unless one is running. Returns None on success, else when the running one ends."""
        until = self.now + timedelta(seconds=seconds)
        try:
            self.table.put_item(
                Item={
                    "pk": f"cooldown#{scope}",
                    "sk": "cooldown",
                    "until": until.isoformat(),
                    "until_epoch": _epoch(until),
                    "holder": holder,
                    "expires_at": _epoch(until + timedelta(days=1)),
                },
                ConditionExpression="attribute_not_exists(pk) OR until_epoch <= :now",
                ExpressionAttributeValues={":now": _epoch(self.now)},
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        return self.cooldown_until(scope) or self.now

    # --- maintenance windows (window#<service>): admit suppresses the service's alarms while one is open ---------
    def open_window(self, service: str) -> Item | None:
        """The service's open maintenance window; an expired one (its execution crashed) counts as closed."""
        item = _item(self.table.get_item(Key={"pk": naming.window_key(service), "sk": "open"}, ConsistentRead=True))
        if not item or datetime.fromisoformat(str(item["expires"])) <= self.now:
            return None
        return item

    def open_window_of(self, service: str, execution: str) -> Item | None:
        """The window this execution opened on the service (expired or not), else None."""
        item = _item(self.table.get_item(Key={"pk": naming.window_key(service), "sk": "open"}, ConsistentRead=True))
        return item if item and item.get("execution") == execution else None

    def open_window_for(self, service: str, execution: str, expires: datetime, recorded: dict[str, Any]) -> str | None:
        """Open (or, for the same execution, re-open) the service's window with its recorded counts. None when
        opened, else the execution holding a window that has not expired."""
        try:
            self.table.put_item(
                Item={
                    "pk": naming.window_key(service),
                    "sk": "open",
                    "execution": execution,
                    "opened": self.now.isoformat(),
                    "expires": expires.isoformat(),
                    "expires_epoch": _epoch(expires),
                    "expires_at": _epoch(expires + timedelta(days=1)),
                    **recorded,
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_epoch <= :now OR #e = :me",
                ExpressionAttributeNames={"#e": "execution"},
                ExpressionAttributeValues={":now": _epoch(self.now), ":me": execution},
            )
            return None
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        held = self.open_window(service)
        return str(held["execution"]) if held else "unknown"

    def mark_window(self, service: str, execution: str, **values: Any) -> None:
        """Note progress on this execution's window (e.g. scaled_down) for a failure path to act on."""
        names = {f"#k{i}": k for i, k in enumerate(values)}
        self.table.update_item(
            Key={"pk": naming.window_key(service), "sk": "open"},
            UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
            ConditionExpression="#e = :me",
            ExpressionAttributeNames={**names, "#e": "execution"},
            ExpressionAttributeValues={**{f":v{i}": v for i, v in enumerate(values.values())}, ":me": execution},
        )

    def lift_window(self, service: str, execution: str) -> bool:
        """Delete this execution's window (never another's). False when it had none."""
        try:
            self.table.delete_item(
                Key={"pk": naming.window_key(service), "sk": "open"},
                ConditionExpression="#e = :me",
                ExpressionAttributeNames={"#e": "execution"},
                ExpressionAttributeValues={":me": execution},
            )
            return True
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
        return False

    # --- a runbook's own remembered state: pk state#<runbook>#<scope>, so runbooks never meet ---------
    def remembered(self, runbook: str, scope: str, sk: str) -> Item | None:
        return _item(self.table.get_item(Key={"pk": f"state#{runbook}#{scope}", "sk": sk}, ConsistentRead=True))

    def remember(self, runbook: str, scope: str, sk: str, values: dict[str, Any]) -> None:
        self.table.put_item(Item={"pk": f"state#{runbook}#{scope}", "sk": sk, **values})

    # --- audit trail: append-only, hash-chained (catalog/audit_chain.py) -------------------------------
    def audit(self, subject: str, step: str, record: dict[str, Any], *, sk: str | None = None) -> Item:
        """Append an audit row, chained to the customer's previous one: one transaction puts the row (never over
        another) and moves the chain head on from the digest it was read at, so concurrent writers cannot fork the
        chain; a writer that lost the race reads the head again (at most AUDIT_ATTEMPTS times). Kept without
        expiry: it is the audit trail. ``sk``: the row's sort key (default <now>#<step>). Returns the row."""
        row = {
            "pk": f"{naming.AUDIT_KEY_PREFIX}{subject}",
            "sk": sk or f"{self.now.isoformat()}#{step}",
            "step": step,
            **{k: (v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in record.items() if v is not None},
        }
        head_key = {"pk": audit_chain.CHAIN_HEAD_PK, "sk": audit_chain.CHAIN_HEAD_SK}
        for _ in range(AUDIT_ATTEMPTS):
            head = _item(self.table.get_item(Key=head_key, ConsistentRead=True))
            seq = int(head["seq"]) + 1 if head else 1
            prev = str(head[audit_chain.DIGEST]) if head else audit_chain.GENESIS
            linked = audit_chain.link(row, seq, prev)
            move = {
                "TableName": self.table.name,
                "Key": head_key,
                "UpdateExpression": "SET #seq = :seq, #d = :d, row_pk = :pk, row_sk = :sk",
                "ExpressionAttributeNames": {"#seq": "seq", "#d": audit_chain.DIGEST},
                "ExpressionAttributeValues": {":seq": seq, ":d": linked[audit_chain.DIGEST], ":pk": row["pk"], ":sk": row["sk"]},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            if head:
                move["ConditionExpression"] = "#d = :prev"
                move["ExpressionAttributeValues"][":prev"] = prev
            put = {"TableName": self.table.name, "Item": linked, "ConditionExpression": "attribute_not_exists(pk)"}
            try:
                self.table.meta.client.transact_write_items(TransactItems=[{"Put": put}, {"Update": move}])
                return linked
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    raise AuditNotAppended(
                        f"audit row {row['pk']} {row['sk']} exists already: an audit row is never overwritten"
                    ) from None
                if len(reasons) < 2 or reasons[1] not in ("ConditionalCheckFailed", "TransactionConflict"):
                    raise
        raise AuditNotAppended(
            f"audit row {row['pk']} {row['sk']} not appended: the chain head moved on {AUDIT_ATTEMPTS} times in a row"
        )

    def audit_trail(self, subject: str) -> list[Item]:
        resp = self.table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"audit#{subject}"})
        return list(resp.get("Items", []))
