"""What an approval's proofs are made of, declared once for the CLI (operators/), the sandbox and the Lambdas.

A person proves who they are the way Vault's AWS auth and aws-iam-authenticator do: they sign an
``sts:GetCallerIdentity`` request with their own credentials and hand over the signed headers; the function that
needs to know sends that request to STS itself and reads the ARN from STS's answer. The signature covers one more
header, ``X-Lecture-Purpose``, whose value the function computes from what it is asked to do (this answer to this
execution): a proof made for one answer is no proof for another. See docs/runbooks/approvals.md.
"""

import fnmatch
import hashlib
import json
import re
from typing import Any

PURPOSE_HEADER = "X-Lecture-Purpose"
STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
UNVERIFIED = "unverified"  # the requester of a run started without a proof (the console, respond, a schedule)
# The key of a run's input that carries its starter's proof (the CLI puts it there); no runbook reads it.
REQUESTER_KEY = "requester_proof"


def sts_url(region: str) -> str:
    return f"https://sts.{region}.amazonaws.com/"


def _digest(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    ).hexdigest()


def plan_digest(plan: object) -> str:
    """The digest of a plan as guard returned it: what the approver saw is what act may do (who approved is not
    part of it)."""
    if isinstance(plan, dict):
        plan = {k: v for k, v in plan.items() if k != "approval"}
    return _digest(plan)


def answer_purpose(customer: str, execution_arn: str, answer: str, comment: str) -> str:
    return _digest({"for": "answer", "customer": customer, "execution": execution_arn, "answer": answer, "comment": comment})


def request_purpose(customer: str, state_machine: str, execution_name: str) -> str:
    """The proof a starter puts into the run's input: bound to the execution's name, chosen before the start."""
    return _digest({"for": "request", "customer": customer, "state_machine": state_machine, "execution": execution_name})


_ASSUMED = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def principal_forms(arn: str) -> list[str]:
    """The ARN, and for an assumed-role session the role's ARN too (a pattern may name either)."""
    forms = [arn]
    m = _ASSUMED.match(arn)
    if m:
        forms.append(f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}")
    return forms


def matches(arn: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether the principal is one the patterns name (``*`` and ``?`` are wildcards, case matters)."""
    return any(fnmatch.fnmatchcase(form, p) for form in principal_forms(arn) for p in patterns)
