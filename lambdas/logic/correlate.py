"""correlate (the ops account): one incident event -> the fleet's picture -> the P0 (issue 16).

Every customer stack reports its incidents (lambdas/logic/incident_events.py). Here each event is applied once:
EventBridge delivers at least once and in any order, so an incident's row takes an open/closed only if it is newer
than what the row has (a conditional write), and the rows that follow from it (the customer's open incidents, its
"down" rows) change in the same transaction. The cost per event does not grow with the fleet: one transaction, one
Query of the customers that are down now (never a scan), one read of the P0 and, when it changes, one conditional
write of it (only one of two concurrent events opens a P0).

The P0: at least ``min_customers`` customers down (an open incident of a "down" kind) that went down within
``window_minutes`` of the newest -> one PagerDuty ``critical`` trigger on the P0's own dedup key, with the
affected customers and their incidents, and the runbook's status update ("Affected customers: ..."). A further
customer down updates it (the same dedup key, so the same alert). Fewer than ``min_customers`` down: the P0 is
recovering, and the workflow looks again after ``recover_minutes``; still so, it resolves (once, a conditional
write). A customer that goes down again meanwhile puts the P0 back to open: never a second P0.

The sender is the event's ``account`` (EventBridge sets it from the caller's credentials, and the bus policy admits
only the customer accounts); the detail's ``customer`` must be that account's.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from catalog import naming
from catalog.fleet import OpsConfig
from catalog.validation import describe
from lambdas.logic import status_update
from lambdas.logic.pagerduty import link, resolve_event, trigger_event
from lambdas.models.fleet import IncidentEvent, at_ms

CUSTOMERS_PK = "fleet#customers"  # sk: the customer; open incidents, last outcome (status --all reads these)
DOWN_PK = "fleet#down"  # sk: <customer>#<incident id>, one per open incident of a "down" kind
P0_PK, P0_SK = "fleet#p0", "current"
INCIDENT_PK = "incident#"  # + customer; sk: the incident id
AUDIT_PK = naming.AUDIT_KEY_PREFIX

RECOVERING, OPEN, RESOLVED = "recovering", "open", "resolved"


@dataclass
class Fleet:
    """What correlate works with: the table (a boto3 Table), the P0's pages and the status topic."""

    ops: OpsConfig
    table: Any
    sns: Any
    topic_arn: str
    send: Callable[[dict[str, Any], str], dict[str, Any]]  # pagerduty.send
    routing_key: Callable[[], str]
    now: datetime

    def audit(self, subject: str, step: str, record: dict[str, Any]) -> None:
        self.table.put_item(
            Item={
                "pk": f"{AUDIT_PK}{subject}",
                "sk": f"{self.now.isoformat()}#{step}",
                "step": step,
                **{k: str(v) for k, v in record.items() if v is not None},
            }
        )

    def status(self, subject: str, text: str, attributes: dict[str, str]) -> None:
        if self.topic_arn:
            status_update.publish(self.sns, self.topic_arn, subject, text, status_update.attributes(**attributes))


def _refuse(fleet: Fleet, event: object, outcome: str, message: str, *, status_line: bool) -> dict[str, Any]:
    account = event.get("account") if isinstance(event, dict) else None
    fleet.audit("refused", "correlate", {"outcome": outcome, "message": message, "account": account})
    if status_line:
        fleet.status(
            "incident-event-refused",
            f"The ops account refused an incident event: {message}. Nothing was changed and no P0 was considered.",
            {"status": outcome, "kind": "incident-event"},
        )
    return {"outcome": outcome, "message": message}


def parse(event: object, ops: OpsConfig) -> tuple[IncidentEvent | None, str, str]:
    """(the incident event, "", "") or (None, outcome, why): ignored (not a customer's account) or refused."""
    if not isinstance(event, dict):
        return None, "refused", f"malformed incident event: expected a JSON object, got {type(event).__name__}"
    account = str(event.get("account") or "")
    customer = ops.customer_of(account)
    if customer is None:
        return None, "ignored", f"an incident event from account {account[:20]!r}, which is no customer's; ignored"
    if event.get("source") != naming.INCIDENT_EVENT_SOURCE or event.get("detail-type") != naming.INCIDENT_EVENT_DETAIL_TYPE:
        return (
            None,
            "refused",
            (
                f"malformed incident event from {customer} ({account}): source {str(event.get('source'))[:60]!r}, "
                f"detail type {str(event.get('detail-type'))[:60]!r}"
            ),
        )
    try:
        parsed = IncidentEvent.model_validate(event.get("detail"))
    except ValidationError as exc:
        return None, "refused", describe(exc, f"malformed incident event from {customer} ({account})")[:1000]
    if parsed.customer != customer:
        return (
            None,
            "refused",
            (
                f"incident event from account {account} (customer {customer}) names customer {parsed.customer}; "
                "an account speaks only for its own customer"
            ),
        )
    return parsed, "", ""


def _update_of(name: str, key: dict[str, Any], values: dict[str, Any], *, condition: str = "", extra: str = "") -> dict[str, Any]:
    """A TransactWriteItems Update that SETs ``values`` (every name through #placeholders: many are reserved
    words), optionally conditional on the row's at/outcome time (#t < :t)."""
    names = {f"#f{i}": k for i, k in enumerate(values)}
    update: dict[str, Any] = {
        "TableName": name,
        "Key": key,
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values))) + extra,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":v{i}": v for i, v in enumerate(values.values())},
    }
    if condition:
        update["ExpressionAttributeNames"]["#t"] = condition
        update["ConditionExpression"] = "attribute_not_exists(#t) OR #t < :t"
        update["ExpressionAttributeValues"][":t"] = values[condition]
    return {"Update": update}


def _apply(fleet: Fleet, e: IncidentEvent) -> str:
    """Apply the event to the incident's rows once, in one transaction: "applied", or "stale" (not newer than what
    the incident's row has: a redelivery or a late one)."""
    client = fleet.table.meta.client
    name = fleet.table.name
    t = at_ms(e.time)
    key = {"pk": f"{INCIDENT_PK}{e.customer}", "sk": e.incident_id}
    described = {"kind": e.kind, "resource": e.resource, "alarm": e.alarm, "down": e.down}
    customer_key = {"pk": CUSTOMERS_PK, "sk": e.customer}
    if e.state == "settled":
        items = [
            _update_of(
                name,
                key,
                {**described, "outcome": e.outcome or "", "outcome_message": e.message or "", "outcome_ms": t},
                condition="outcome_ms",
            ),
            _update_of(
                name,
                customer_key,
                {"last_outcome": e.outcome or "", "last_outcome_at": e.time.isoformat(), "last_incident": e.incident_id},
            ),
        ]
    else:
        opened = e.state == "open"
        stamp = {"opened_at": e.time.isoformat()} if opened else {"closed_at": e.time.isoformat()}
        incident = _update_of(
            name, key, {**described, "state": e.state, "severity": e.severity, "at_ms": t, **stamp}, condition="at_ms"
        )
        heard = {"last_event_at": e.time.isoformat(), **({"mode": e.mode} if e.mode else {})}  # admit read it
        customer = _update_of(name, customer_key, heard, extra=(" ADD" if opened else " DELETE") + " #open :i")
        customer["Update"]["ExpressionAttributeNames"]["#open"] = "open_incidents"
        customer["Update"]["ExpressionAttributeValues"][":i"] = {e.incident_id}
        items = [incident, customer]
        if e.down:
            down_key = {"pk": DOWN_PK, "sk": f"{e.customer}#{e.incident_id}"}
            row = {"customer": e.customer, "incident_id": e.incident_id, "since_ms": t, "since": e.time.isoformat()}
            items.append(
                {"Put": {"TableName": name, "Item": {**down_key, **row, "kind": e.kind, "resource": e.resource}}}
                if opened
                else {"Delete": {"TableName": name, "Key": down_key}}
            )
    try:
        client.transact_write_items(TransactItems=items)
    except client.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return "stale"
        raise
    return "applied"


def down_now(fleet: Fleet) -> dict[str, list[dict[str, Any]]]:
    """The customers down now, each with its open "down" incidents: one Query (the down ones only, never a scan)."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": DOWN_PK}}
    while True:
        resp = fleet.table.query(**kwargs)
        rows += resp.get("Items", [])
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    down: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (int(r["since_ms"]), r["sk"])):
        down.setdefault(str(row["customer"]), []).append(row)
    return down


def _within_window(fleet: Fleet, down: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The down customers that went down within window_minutes of the newest of them."""
    since = {c: int(rows[0]["since_ms"]) for c, rows in down.items()}
    if not since:
        return []
    newest = max(since.values())
    window = fleet.ops.correlation.window_minutes * 60_000
    return sorted(c for c, s in since.items() if s >= newest - window)


def _p0(fleet: Fleet) -> dict[str, Any] | None:
    item: dict[str, Any] | None = fleet.table.get_item(Key={"pk": P0_PK, "sk": P0_SK}, ConsistentRead=True).get("Item")
    return item


def _dedup_key(p0_id: str) -> str:
    return naming.dedup_key(naming.OPS, p0_id)


def _incidents(down: dict[str, list[dict[str, Any]]], customers: list[str]) -> dict[str, list[dict[str, str]]]:
    return {
        c: [
            {"incident_id": r["incident_id"], "kind": r["kind"], "resource": r["resource"], "since": r["since"]}
            for r in down.get(c, [])
        ]
        for c in customers
    }


def _links(fleet: Fleet, customers: list[str]) -> list[dict[str, str]]:
    region = fleet.ops.region
    return [
        link(
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{naming.FLEET_DASHBOARD}",
            naming.FLEET_DASHBOARD,
        )
    ] + [
        link(
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{naming.dashboard_name(c)}",
            f"{c}: {naming.dashboard_name(c)}",
        )
        for c in customers
    ]


def _page(
    fleet: Fleet, p0_id: str, customers: list[str], down: dict[str, list[dict[str, Any]]], *, update: bool
) -> dict[str, Any]:
    incidents = _incidents(down, customers)
    summary = f"P0: {len(customers)} customers down at once: {', '.join(customers)}" + (" (updated)" if update else "")
    event = trigger_event(
        fleet.routing_key(),
        _dedup_key(p0_id),
        summary=summary,
        source=naming.group(naming.OPS),
        severity="critical",
        timestamp=fleet.now.isoformat(),
        component="fleet",
        group=naming.group(naming.OPS),
        event_class="P0",
        custom_details={
            "incident_id": p0_id,
            "severity": "P0",
            "urgency": "high",  # the escalation matrix's P0: phone + Slack
            "service": fleet.ops.paging.pagerduty_service,
            "affected_customers": customers,
            "incidents": incidents,
            "procedure": "runbook P0: check overall system status, identify affected customers, document the incident",
        },
        links=_links(fleet, customers),
    )
    answer = fleet.send(event, fleet.ops.paging.pagerduty_events_url)
    identified = min((r[0]["since"] for c, r in down.items() if c in customers and r), default=fleet.now.isoformat())
    fleet.status(
        p0_id,
        status_update.message(
            incident_id=p0_id,
            status="Identified",
            impact=f"Complete service outage: {len(customers)} customers down ({', '.join(customers)})",
            identified_at=identified,
            customers=customers,
            actions="P0 paged (phone + Slack); each customer's own incident runs its runbook",
            eta="unknown",
            contact=fleet.ops.paging.on_call_contact,
            now=fleet.now,
            next_update_minutes=15,
        ),
        {"severity": "P0", "status": "Identified", "customer": ",".join(customers)},
    )
    return answer


def _open(
    fleet: Fleet, down: dict[str, list[dict[str, Any]]], customers: list[str], previous: dict[str, Any] | None
) -> dict[str, Any]:
    newest = max(int(down[c][0]["since_ms"]) for c in customers)
    p0_id = f"{naming.P0_PREFIX}-{datetime.fromtimestamp(newest / 1000, UTC).strftime('%Y%m%dT%H%M%S')}{newest % 1000:03d}Z"
    try:
        fleet.table.put_item(
            Item={
                "pk": P0_PK,
                "sk": P0_SK,
                "p0_id": p0_id,
                "state": OPEN,
                "customers": customers,
                "opened_at": fleet.now.isoformat(),
            },
            ConditionExpression="attribute_not_exists(pk) OR #s = :resolved",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":resolved": RESOLVED},
        )
    except fleet.table.meta.client.exceptions.ConditionalCheckFailedException:
        return {"outcome": "p0-already-open", "message": "another event opened the P0 first"}
    answer = _page(fleet, p0_id, customers, down, update=False)
    fleet.audit(p0_id, "p0-open", {"customers": ",".join(customers), "pagerduty": answer.get("status")})
    return {"outcome": "p0-opened", "p0": p0_id, "customers": customers, "message": f"P0 {p0_id}: {', '.join(customers)} down"}


def _update(fleet: Fleet, p0: dict[str, Any], down: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The P0 is open or recovering and at least min_customers are down: new customers join it (one update of the
    same alert), a recovering P0 is open again (a flap: no new page)."""
    had = sorted(str(c) for c in p0.get("customers", []))
    customers = sorted(set(had) | set(down))
    p0_id = str(p0["p0_id"])
    if customers == had and p0.get("state") == OPEN:
        return {"outcome": "p0-unchanged", "p0": p0_id, "customers": customers, "message": f"P0 {p0_id} already lists them"}
    try:
        fleet.table.update_item(
            Key={"pk": P0_PK, "sk": P0_SK},
            UpdateExpression="SET #s = :open, customers = :c REMOVE below_since_ms",
            ConditionExpression="p0_id = :id AND customers = :had AND #s <> :resolved",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":open": OPEN,
                ":c": customers,
                ":id": p0_id,
                ":had": p0.get("customers", []),
                ":resolved": RESOLVED,
            },
        )
    except fleet.table.meta.client.exceptions.ConditionalCheckFailedException:
        return {"outcome": "p0-changed-meanwhile", "p0": p0_id, "message": "another event changed the P0 first"}
    if customers == had:  # a recovering P0 whose customers are down again: open again, not paged again
        fleet.audit(p0_id, "p0-down-again", {"customers": ",".join(customers)})
        return {
            "outcome": "p0-open-again",
            "p0": p0_id,
            "customers": customers,
            "message": f"P0 {p0_id}: down again before it recovered",
        }
    answer = _page(fleet, p0_id, customers, down, update=True)
    fleet.audit(p0_id, "p0-update", {"customers": ",".join(customers), "pagerduty": answer.get("status")})
    joined = sorted(set(customers) - set(had))
    return {"outcome": "p0-updated", "p0": p0_id, "customers": customers, "message": f"P0 {p0_id}: {', '.join(joined)} down too"}


def _recovering(fleet: Fleet, p0: dict[str, Any], at: int) -> dict[str, Any]:
    p0_id = str(p0["p0_id"])
    try:
        fleet.table.update_item(
            Key={"pk": P0_PK, "sk": P0_SK},
            UpdateExpression="SET #s = :rec, below_since_ms = :at",
            ConditionExpression="p0_id = :id AND #s = :open",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":rec": RECOVERING, ":at": at, ":id": p0_id, ":open": OPEN},
        )
    except fleet.table.meta.client.exceptions.ConditionalCheckFailedException:
        return {"outcome": "p0-changed-meanwhile", "p0": p0_id, "message": "another event changed the P0 first"}
    fleet.audit(p0_id, "p0-recovering", {"below_since_ms": at})
    minutes = fleet.ops.correlation.recover_minutes
    return {
        "outcome": "p0-recovering",
        "p0": p0_id,
        "recheck": {"p0": p0_id, "below_since_ms": at},
        "message": (
            f"P0 {p0_id}: fewer than {fleet.ops.correlation.min_customers} customers down; resolves if so for {minutes} minutes"
        ),
    }


def correlate(event: object, fleet: Fleet) -> dict[str, Any]:
    parsed, outcome, why = parse(event, fleet.ops)
    if parsed is None:
        return _refuse(fleet, event, outcome, why, status_line=outcome == "refused")
    applied = _apply(fleet, parsed)
    if applied == "stale":
        return {
            "outcome": "stale",
            "customer": parsed.customer,
            "incident_id": parsed.incident_id,
            "message": (
                f"{parsed.state} of {parsed.incident_id} at {parsed.time.isoformat()} is not newer than what the "
                "fleet has; ignored"
            ),
        }
    if not parsed.down or parsed.state == "settled":
        return {
            "outcome": "recorded",
            "customer": parsed.customer,
            "incident_id": parsed.incident_id,
            "message": f"{parsed.state} recorded",
        }
    down = down_now(fleet)
    p0 = _p0(fleet)
    active = p0 is not None and p0.get("state") in (OPEN, RECOVERING)
    minimum = fleet.ops.correlation.min_customers
    if active and len(down) >= minimum:
        return _update(fleet, p0, down)  # type: ignore[arg-type]
    if not active:
        recent = _within_window(fleet, down)
        if len(recent) >= minimum:
            return _open(fleet, down, recent, p0)
        return {
            "outcome": "no-p0",
            "customer": parsed.customer,
            "incident_id": parsed.incident_id,
            "down": sorted(down),
            "message": (
                f"{len(recent)} customer(s) down within {fleet.ops.correlation.window_minutes} minutes; a P0 needs {minimum}"
            ),
        }
    if p0 and p0.get("state") == OPEN:
        return _recovering(fleet, p0, at_ms(parsed.time))
    return {"outcome": "p0-recovering", "p0": str(p0["p0_id"]) if p0 else None, "message": "the P0 is recovering already"}


def recheck(token: object, fleet: Fleet) -> dict[str, Any]:
    """recover_minutes after the P0 began recovering: still so (the same recovery), it resolves, once."""
    if not isinstance(token, dict) or "p0" not in token or "below_since_ms" not in token:
        return {"outcome": "refused", "message": f"recheck: expected {{p0, below_since_ms}}, got {str(token)[:200]}"}
    p0_id = str(token["p0"])
    try:
        fleet.table.update_item(
            Key={"pk": P0_PK, "sk": P0_SK},
            UpdateExpression="SET #s = :resolved, resolved_at = :now",
            ConditionExpression="p0_id = :id AND #s = :rec AND below_since_ms = :b",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":resolved": RESOLVED,
                ":now": fleet.now.isoformat(),
                ":id": p0_id,
                ":rec": RECOVERING,
                ":b": int(token["below_since_ms"]),
            },
        )
    except fleet.table.meta.client.exceptions.ConditionalCheckFailedException:
        return {"outcome": "p0-not-resolved", "p0": p0_id, "message": f"P0 {p0_id} is down again or resolved already"}
    answer = fleet.send(resolve_event(fleet.routing_key(), _dedup_key(p0_id)), fleet.ops.paging.pagerduty_events_url)
    p0 = _p0(fleet) or {}
    customers = sorted(str(c) for c in p0.get("customers", []))
    fleet.status(
        p0_id,
        status_update.message(
            incident_id=p0_id,
            status="Resolved",
            impact=f"The outage is over: fewer than {fleet.ops.correlation.min_customers} customers down",
            identified_at=str(p0.get("opened_at", "")),
            customers=customers,
            actions=f"P0 resolved after {fleet.ops.correlation.recover_minutes} minutes of recovery",
            eta="resolved",
            contact=fleet.ops.paging.on_call_contact,
            now=fleet.now,
            next_update_minutes=None,
        ),
        {"severity": "P0", "status": "Resolved", "customer": ",".join(customers)},
    )
    fleet.audit(p0_id, "p0-resolve", {"pagerduty": answer.get("status")})
    return {"outcome": "p0-resolved", "p0": p0_id, "customers": customers, "message": f"P0 {p0_id} resolved"}
