"""Every granted action checked against the resource types AWS's Service Authorization Reference lists for it
(policy_sentry ships that reference as data; no network): moto enforces no IAM, so a grant on the wrong resource
type (RestoreDBClusterFromSnapshot without the cluster parameter group and option group it also needs) would show
only as AccessDenied in a real account.

For each role of a template and each action it allows (per role, over all its statements):
- ``missing``: a resource type the reference marks required for the action (``cluster-pg*``) that no resource
  granted for the action covers (``*`` covers every type);
- ``wrong``: a resource granted for the action that is of none of the action's resource types (an action with no
  resource-level permission takes ``*`` only).
A resource the resolver cannot resolve, an action or service the reference does not know, and NotAction /
NotResource statements are not judged, and named in ``unjudged``, so an approximation is never silent.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sandbox.least_privilege import Policies, Unresolved

# Resource types the reference marks required that cannot apply to this stack, and why (declared, not silent).
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("states", "express"): "every state machine of the stack is STANDARD: none of its executions is an express one",
}


@dataclass
class Findings:
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unjudged: set[str] = field(default_factory=set)

    def problems(self) -> list[str]:
        return self.missing + self.wrong


@cache
def _service(prefix: str) -> dict[str, Any] | None:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        data = get_service_prefix_data(prefix)
    except Exception:  # noqa: BLE001 - an unknown prefix: not judged
        return None
    return dict(data) if data else None


_STAR = object()  # a granted ``*``: any text, ':' included
_ANY_CHAR = object()  # a granted ``?``
_VAR = object()  # a ${Variable} of the reference's ARN format: text without ':'
_LAST_VAR = object()  # its last one: any text (a key, a stream name)
_BUCKET = object()  # ${BucketName}: no ':' and no '/' (S3 bucket names have neither)


def _tokens(text: str, *, granted: bool) -> tuple[object, ...]:
    if granted:
        return tuple(_STAR if c == "*" else _ANY_CHAR if c == "?" else c.lower() for c in text)
    parts = re.split(r"(\$\{[^}]+\})", text)
    last = max((i for i, p in enumerate(parts) if p.startswith("${")), default=-1)
    out: list[object] = []
    for i, part in enumerate(parts):
        if part == "${BucketName}":
            out.append(_BUCKET)
        elif part.startswith("${"):
            out.append(_LAST_VAR if i == last else _VAR)
        else:
            out += list(part.lower())
    return tuple(out)


@cache
def _overlap(granted: str, arn_format: str) -> bool:
    """Whether some ARN fits both the granted pattern and the reference's ARN format (two globs intersect)."""
    a, b = _tokens(granted, granted=True), _tokens(arn_format, granted=False)
    variables = (_VAR, _LAST_VAR, _BUCKET)

    @cache
    def fits(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        x = a[i] if i < len(a) else None
        y = b[j] if j < len(b) else None
        if x is _STAR and (fits(i + 1, j) or (y is not None and fits(i, j + 1))):
            return True  # the star ends, or it covers the format's next character or variable
        if y in variables:
            if fits(i, j + 1):
                return True  # the variable ends
            if x is _ANY_CHAR or (isinstance(x, str) and (y is _LAST_VAR or x not in (":/" if y is _BUCKET else ":"))):
                return fits(i + 1, j)  # it takes the granted character
            return False
        if x is not None and x is not _STAR and isinstance(y, str):
            return (x is _ANY_CHAR or x == y) and fits(i + 1, j + 1)
        return False

    return fits(0, 0)


def _of_type(resource: str, arn_format: str) -> bool:
    return resource == "*" or _overlap(resource, arn_format)


def _privileges(action: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(the action's name, its privilege entry, its service's data) for an action pattern (``kms:ReEncrypt*``)."""
    prefix, _, name = action.partition(":")
    service = _service(prefix.lower())
    if service is None:
        return []
    return [
        (f"{prefix}:{p}", entry, service)
        for p, entry in service["privileges"].items()
        if fnmatch.fnmatchcase(p.lower(), name.lower())
    ]


def check(template: dict, policies: Policies) -> dict[str, Findings]:
    """Per role (its logical id), what does not fit the reference."""
    out: dict[str, Findings] = {}
    for logical, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::IAM::Role":
            continue
        findings = out.setdefault(logical, Findings())
        granted: dict[str, set[str]] = {}  # action -> resources
        for st in (policies._resolve_statement(s) for s in policies._statements_of(logical)):
            if st.get("Effect") != "Allow":
                continue
            if "NotAction" in st or "NotResource" in st:
                findings.unjudged.add(f"a NotAction/NotResource statement of {logical}")
                continue
            for action in st.get("Action", []):
                for resource in st.get("Resource", []):
                    if isinstance(resource, Unresolved):
                        findings.unjudged.add(f"{action} on {resource[:120]}")
                        continue
                    granted.setdefault(action, set()).add(str(resource))
        for action, resources in sorted(granted.items()):
            privileges = _privileges(action)
            if not privileges:
                findings.unjudged.add(f"{action}: not in the Service Authorization Reference data")
            for name, entry, service in privileges:
                _judge(logical, name, entry, service, resources, findings)
    return out


def _judge(role: str, action: str, entry: dict, service: dict, resources: set[str], findings: Findings) -> None:
    types = {t: v for t, v in entry["resource_types"].items() if t}
    formats = {t: service["resources"][t]["arn"] for t in types if t in service["resources"]}
    for t, v in sorted(types.items()):
        if (service["prefix"], t) in NOT_APPLICABLE:
            continue
        if v.get("required") and t in formats and not any(_of_type(r, formats[t]) for r in resources):
            findings.missing.append(
                f"{role}: {action} needs resource type {t} ({formats[t]}); granted only on {', '.join(sorted(resources))}"
            )
    for r in sorted(resources):
        if r != "*" and not any(_of_type(r, f) for f in formats.values()):
            kinds = ", ".join(sorted(formats)) or "none: it takes * only"
            findings.wrong.append(f"{role}: {action} granted on {r}, which is of none of its resource types ({kinds})")
