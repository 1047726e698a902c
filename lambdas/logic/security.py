"""admit for security events (catalog/security.py): parse the CloudTrail event, say who did what where, and
claim the kind's burst window. The first event of a window pages the security team; later ones in the window
are recorded, not paged. No runbook: a person judges them.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from catalog import CustomerConfig, naming
from catalog.security import DETAIL_TYPES, SECURITY_EVENTS, SecurityEventKind
from catalog.validation import describe
from lambdas.errors import InvalidEvent
from lambdas.logic.store import Store
from lambdas.models.events import CLOUDTRAIL_PART_MAX_BYTES, CloudTrailDetail, CloudTrailEvent
from lambdas.models.steps import Decision

KIND = "security_event"  # Decision.kind: lambdas/diagnosis/security_event.py
_MAX_RULES = 10
_TEXT_MAX = 200


def is_cloudtrail(event: object) -> bool:
    return isinstance(event, dict) and event.get("detail-type") in DETAIL_TYPES


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def _cut_part(value: dict[str, Any], limit: int) -> tuple[dict[str, Any], dict[str, int], list[str]]:
    """A free-form part above the limit, cut to fit: its scalars (bounded), then each list in CloudTrail's
    {"items": [...]} shape keeps its first items while they fit; anything else that does not fit is dropped.
    Returns (the part, {list: how many items it had}, what was cut)."""
    cut: dict[str, Any] = {
        k: (v[:_TEXT_MAX] if isinstance(v, str) else v)
        for k, v in value.items()
        if v is None or isinstance(v, (str, int, float, bool))
    }
    totals: dict[str, int] = {}
    said: list[str] = []
    budget = limit - _size(cut) - 512  # room for the keys and brackets of what is kept
    for key, v in value.items():
        if key in cut:
            continue
        items = v.get("items") if isinstance(v, dict) else None
        if isinstance(items, list):
            totals[key] = len(items)
            kept: list[Any] = []
            for item in items:
                size = _size(item) + 2
                if size > budget:
                    break
                kept.append(item)
                budget -= size
            cut[key] = {"items": kept}
            if len(kept) < len(items):
                said.append(f"{key}: kept the first {len(kept)} of {len(items)} items")
        elif _size(v) + 2 <= budget:
            cut[key] = v
            budget -= _size(v) + 2
        else:
            said.append(f"{key}: dropped ({_size(v)} bytes)")
    return cut, totals, said


def _cut(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int], list[str]]:
    """The event with each of its free-form parts above the model's bound cut to fit (the security team is paged
    with what fits, and told what was cut); (event, item totals, notes). An event within the bounds is as given."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return event, {}, []
    totals: dict[str, int] = {}
    notes: list[str] = []
    cut_detail = dict(detail)
    for part in ("requestParameters", "responseElements", "additionalEventData"):
        value = detail.get(part)
        if isinstance(value, dict) and (size := _size(value)) > CLOUDTRAIL_PART_MAX_BYTES:
            cut_detail[part], counts, said = _cut_part(value, CLOUDTRAIL_PART_MAX_BYTES)
            totals.update(counts)
            notes.append(
                f"detail.{part} was {size} bytes, above the limit of {CLOUDTRAIL_PART_MAX_BYTES}: cut to "
                f"{_size(cut_detail[part])} bytes" + (f" ({'; '.join(said)})" if said else "")
            )
    return ({**event, "detail": cut_detail}, totals, notes) if notes else (event, {}, [])


def parse(event: object, config: CustomerConfig) -> tuple[CloudTrailEvent, SecurityEventKind]:
    parsed, kind, _, _ = parse_cut(event, config)
    return parsed, kind


def parse_cut(event: object, config: CustomerConfig) -> tuple[CloudTrailEvent, SecurityEventKind, dict[str, int], list[str]]:
    """parse, with the parts too large to keep whole cut to fit: (event, kind, item totals, what was cut)."""
    totals: dict[str, int] = {}
    notes: list[str] = []
    if isinstance(event, dict):
        event, totals, notes = _cut(event)
    try:
        parsed = CloudTrailEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(describe(exc, "malformed CloudTrail event")) from None
    for what, got, want in (("region", parsed.region, config.region), ("account", parsed.account, config.account)):
        if got != want:
            raise InvalidEvent(
                f"CloudTrail event from {what} {got}, but this automation serves customer {config.customer} in {what} {want}"
            )
    raw = event["detail"] if isinstance(event, dict) else {}
    for kind in SECURITY_EVENTS.values():
        if kind.matches(parsed.source, parsed.detail_type, raw, config):
            return parsed, kind, totals, notes
    d = parsed.detail
    raise InvalidEvent(
        f"CloudTrail event {d.eventSource} {d.eventName} ({parsed.detail_type}) is not a security event this "
        f"automation watches for customer {config.customer}; it watches: "
        + "; ".join(f"{k.name} ({k.event_source} {', '.join(k.event_names)})" for k in SECURITY_EVENTS.values())
    )


def _items(value: Any) -> list[dict[str, Any]]:
    """CloudTrail's list shape: {"items": [...]}."""
    items = value.get("items") if isinstance(value, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _text(value: Any) -> str:
    return str(value)[:_TEXT_MAX]


def _rule(permission: dict[str, Any], toward: str) -> str:
    proto = permission.get("ipProtocol")
    ports = ""
    low, high = permission.get("fromPort"), permission.get("toPort")
    if proto in ("-1", -1, None):
        proto_text = "all traffic"
    else:
        proto_text = _text(proto)
        if low is not None and low != -1:
            ports = f" port {low}" if low == high or high is None else f" ports {low}-{high}"
    peers = [
        _text(p.get(k))
        for field, k in (
            ("ipRanges", "cidrIp"),
            ("ipv6Ranges", "cidrIpv6"),
            ("groups", "groupId"),
            ("prefixListIds", "prefixListId"),
        )
        for p in _items(permission.get(field))
        if p.get(k)
    ]
    return f"{proto_text}{ports} {toward} {', '.join(peers) or 'no peer given'}"[:_TEXT_MAX]


def _what(
    kind: SecurityEventKind, d: CloudTrailDetail, config: CustomerConfig, totals: dict[str, int] | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(target, sentence, details) of what was done. totals: how many items a cut list had (see _cut)."""
    totals = totals or {}
    request, response = d.requestParameters or {}, d.responseElements or {}
    if kind.name == "security-group-change":
        group = request.get("groupId") or response.get("groupId") or request.get("groupName") or "unknown group"
        target = _text(group)
        toward = "to" if "Egress" in d.eventName else "from"
        permissions = _items(request.get("ipPermissions"))
        rules = [_rule(p, toward) for p in permissions]
        rule_ids = _items(request.get("securityGroupRuleIds"))
        rules += [f"rule {_text(r.get('securityGroupRuleId'))}" for r in rule_ids if r.get("securityGroupRuleId")]
        # a cut event still counts every rule it had
        total = (
            len(rules)
            + totals.get("ipPermissions", len(permissions))
            - len(permissions)
            + totals.get("securityGroupRuleIds", len(rule_ids))
            - len(rule_ids)
        )
        shown = rules[:_MAX_RULES] + ([f"{total - _MAX_RULES} more"] if total > _MAX_RULES else [])
        extra = (
            [f"name {_text(request['groupName'])}"] if d.eventName == "CreateSecurityGroup" and request.get("groupName") else []
        )
        extra += [f"vpc {_text(request['vpcId'])}"] if request.get("vpcId") else []
        details: dict[str, Any] = {
            "group_id": target,
            "rules": shown,
            **({"group_name": _text(request["groupName"])} if request.get("groupName") else {}),
            **({"rule_count": total} if totals else {}),
        }  # a cut event: how many it had
        inner = "; ".join(shown + extra)
        sentence = f"{d.eventName} on {target}" + (f" ({inner})" if inner else "")
    elif kind.name == "console-sign-in-failure":
        identity = d.userIdentity
        target = _text(identity.userName or identity.arn or identity.principalId or "unknown user")
        mfa = (d.additionalEventData or {}).get("MFAUsed")
        details = {"user": target, "error": d.errorMessage, "mfa_used": _text(mfa) if mfa is not None else None}
        sentence = f"console sign-in failed for {target}" + (f" ({d.errorMessage})" if d.errorMessage else "")
    elif kind.on_table:  # matches() accepted it: this customer's automation table
        target = naming.table_name(config.customer)
        details = {"table": target, "resource_arn": _text(request.get("resourceArn"))}
        sentence = f"{d.eventName} on the automation table {target} (its resource policy protects the audit trail)"
    else:  # the mode switch: matches() accepted it, so it is this customer's
        target = naming.mode_parameter_name(config.customer)
        details = {"parameter": target}
        sentence = f"{d.eventName} on the remediation mode switch {target}"
    if d.errorCode:
        sentence += f" - the call failed ({_text(d.errorCode)}), so it was an attempt"
        details["error_code"] = _text(d.errorCode)
    return target, sentence, details


def _who(d: CloudTrailDetail) -> tuple[str, dict[str, Any]]:
    i = d.userIdentity
    caller = i.arn or i.userName or i.invokedBy or i.principalId or "an unknown caller"
    text = f"{caller} ({i.type or 'unknown identity type'})" + (f" from {d.sourceIPAddress}" if d.sourceIPAddress else "")
    return text, {
        "arn": i.arn,
        "type": i.type or None,
        "user_name": i.userName,
        "principal_id": i.principalId,
        "invoked_by": i.invokedBy,
        "source_ip": d.sourceIPAddress,
        "user_agent": _text(d.userAgent) if d.userAgent else None,
    }


def window_start(kind: SecurityEventKind, at: datetime) -> datetime:
    """The burst window an event falls in: fixed windows of the kind's minutes, from the epoch."""
    span = kind.burst_window_minutes * 60
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % span, UTC)


def admit_security(event: object, *, config: CustomerConfig, store: Store) -> Decision:
    parsed, kind, totals, cut = parse_cut(event, config)
    d = parsed.detail
    at = d.eventTime.astimezone(UTC)
    target, what, what_details = _what(kind, d, config, totals)
    who, who_details = _who(d)
    where = f"account {parsed.account}, region {parsed.region}, at {at.isoformat()}"
    sentence = f"{what}, by {who}, in {where}"
    if cut:  # paged with what fits: who, what and where are whole; the rest is in CloudTrail
        sentence += f" (the event was too large to keep whole and was cut: {'; '.join(cut)})"
    window = window_start(kind, at)
    window_id = window.strftime("%Y%m%dT%H%MZ")
    window_end = (window + timedelta(minutes=kind.burst_window_minutes)).strftime("%Y-%m-%d %H:%M UTC")
    tag = hashlib.sha1(parsed.id.encode(), usedforsecurity=False).hexdigest()[:4]
    inc = f"{config.customer}-{at.strftime('%Y%m%dT%H%M%S')}Z-{kind.name}-{tag}"
    base: dict[str, Any] = {
        "customer": config.customer,
        "alarm": kind.rule_name(config.customer),
        "kind": KIND,
        "target": target,
        "condition": kind.name,
        "reason": sentence,
        "state_timestamp": at.isoformat(),
        "severity": kind.severity.value,
        "impact": f"security: {kind.impact}",
        "dedup_key": naming.dedup_key(config.customer, f"security/{kind.name}/{window_id}"),
        "description": kind.title,
        "team": kind.team,
        "runbook": "",
        "security_event": {
            "kind": kind.name,
            "event_id": parsed.id,
            "cloudtrail_event_id": d.eventID,
            "event_name": d.eventName,
            "event_source": d.eventSource,
            "who": who_details,
            "what": what_details,
            "where": {"account": parsed.account, "region": parsed.region, "event_time": at.isoformat()},
            "burst_window": {"start": window.isoformat(), "minutes": kind.burst_window_minutes},
            **({"cut": cut} if cut else {}),
        },
    }
    holder = store.claim(f"security#{kind.name}#{window_id}", inc)
    if holder is None:
        return Decision(
            **base,
            incident_id=inc,
            decision="page",
            note=f"{sentence}; page only, no automatic change (a person judges security events); "
            f"further {kind.name} events before {window_end} are recorded, not paged",
        )
    if holder == inc:
        return Decision(
            **base,
            incident_id=inc,
            decision="duplicate",
            note=f"duplicate delivery of this event; incident {inc} already pages it",
        )
    return Decision(
        **base,
        incident_id=inc,
        decision="ignore",
        note=f"burst: {sentence}; not paged: incident {holder} already paged a {kind.name} in this "
        f"{kind.burst_window_minutes}-minute window (from {window.isoformat()})",
    )


def _lenient(value: Any, *keys: str) -> str | None:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return _text(value) if value not in (None, "", {}, []) else None


def unreadable(event: dict[str, Any], error: str) -> dict[str, Any]:
    """An event from a security rule that admit could not read (a field missing, a wrong type): who, what and
    where, read leniently from what it has, for the security team's page. Never raises."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    kind = next(
        (
            k
            for k in SECURITY_EVENTS.values()
            if event.get("source") == k.source
            and event.get("detail-type") == k.detail_type
            and detail.get("eventName") in k.event_names
        ),
        None,
    )
    call = _lenient(detail, "eventName") or "an unknown call"
    target = (
        _lenient(detail, "requestParameters", "groupId")
        or _lenient(detail, "requestParameters", "name")
        or _lenient(detail, "userIdentity", "userName")
    )
    who = (
        _lenient(detail, "userIdentity", "arn")
        or _lenient(detail, "userIdentity", "userName")
        or _lenient(detail, "userIdentity", "principalId")
        or "an unknown caller"
    )
    ip = _lenient(detail, "sourceIPAddress")
    when = _lenient(detail, "eventTime") or _lenient(event, "time") or "an unknown time"
    where = f"account {_lenient(event, 'account') or 'unknown'}, region {_lenient(event, 'region') or 'unknown'}, at {when}"
    sentence = f"{call}" + (f" on {target}" if target else "") + f", by {who}" + (f" from {ip}" if ip else "") + f", in {where}"
    return {
        "kind": kind.name if kind else None,
        "title": kind.title if kind else "Security event",
        "team": kind.team if kind else "security",
        "severity": (kind.severity if kind else None),
        "sentence": sentence,
        "error": error[:1000],
        "who": who,
        "what": {"event_name": call, "target": target, "event_source": _lenient(detail, "eventSource")},
        "where": {"account": _lenient(event, "account"), "region": _lenient(event, "region"), "event_time": when},
    }
