"""Who is calling, as IAM says: a signed ``sts:GetCallerIdentity`` request, sent to STS by this function.

The caller signs the request with their own credentials (operators/identity.py) and hands over only its headers;
this function builds the request itself (STS's regional endpoint, the fixed body), adds the purpose header with the
value it computed from what it is asked to do, and sends it. Only a signature made with the caller's secret key,
over exactly this purpose, makes STS answer with their ARN. Nothing the caller says about themselves is read.
"""

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from catalog import proofs
from lambdas.errors import IdentityNotProven

# Only the headers a signature needs; the caller's others (User-Agent, ...) are not sent on.
_TAKEN = ("authorization", "x-amz-date", "x-amz-security-token", "content-type")
_SIGNED = re.compile(r"SignedHeaders=([a-z0-9;-]+)")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9]+)/aws4_request")
MAX_AGE = timedelta(minutes=5)
_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


@dataclass(frozen=True)
class Caller:
    arn: str
    account: str


def verify(
    proof: object, *, region: str, purpose: str, now: datetime | None = None, max_age: timedelta = MAX_AGE, timeout: float = 5.0
) -> Caller:
    """The caller the proof was signed by, from STS; ``IdentityNotProven`` (saying why) otherwise."""
    headers = _headers(proof)
    auth = headers.get("authorization", "")
    signed = _SIGNED.search(auth)
    scope = _SCOPE.search(auth)
    if not auth.startswith("AWS4-HMAC-SHA256 ") or signed is None or scope is None:
        raise IdentityNotProven("the proof is not a SigV4-signed sts:GetCallerIdentity request")
    needed = {"host", "x-amz-date", proofs.PURPOSE_HEADER.lower()}
    if not needed <= set(signed.group(1).split(";")):
        raise IdentityNotProven(f"the proof's signature must cover {', '.join(sorted(needed))}")
    if scope.groups() != (region, "sts"):
        raise IdentityNotProven(f"the proof is signed for {scope.group(2)} in {scope.group(1)}, not sts in {region}")
    try:
        signed_at = datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IdentityNotProven("the proof has no X-Amz-Date") from None
    now = now or datetime.now(UTC)
    if abs(now - signed_at) > max_age:
        raise IdentityNotProven(
            f"the proof was signed at {signed_at.isoformat()}, more than "
            f"{int(max_age.total_seconds() // 60)} minutes from now: sign a new one"
        )
    sent = {k: v for k, v in headers.items() if k in _TAKEN}
    sent[proofs.PURPOSE_HEADER] = purpose  # ours, not the caller's: a proof made for another purpose fails
    request = urllib.request.Request(  # noqa: S310 - https, STS's own host
        proofs.sts_url(region), data=proofs.STS_BODY.encode(), method="POST", headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - https, STS's own host
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise IdentityNotProven(f"STS refused the proof ({exc.code}: {_error_code(exc.read())})") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise IdentityNotProven(f"STS could not be asked ({exc}); nothing was done") from None
    return _caller(body)


def _headers(proof: object) -> dict[str, str]:
    given = proof.get("headers") if isinstance(proof, dict) else None
    if not isinstance(given, dict) or not given:
        raise IdentityNotProven("no proof of identity: sign an sts:GetCallerIdentity request (the CLI does)")
    return {str(k).lower(): str(v)[:4096] for k, v in given.items() if isinstance(v, str | int)}


def _error_code(body: bytes) -> str:
    m = re.search(rb"<Code>([^<]{1,100})</Code>", body or b"")
    return m.group(1).decode(errors="replace") if m else "no reason given"


def _caller(body: bytes) -> Caller:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - STS's own answer over https
    except ElementTree.ParseError:
        raise IdentityNotProven("STS's answer is not XML") from None

    def text(tag: str) -> str:
        found: Any = root.find(f".//{_NS}{tag}")
        if found is None:
            found = root.find(f".//{tag}")
        return str(found.text) if found is not None and found.text else ""

    arn, account = text("Arn"), text("Account")
    if not arn.startswith("arn:") or not re.fullmatch(r"\d{12}", account):
        raise IdentityNotProven("STS's answer names no caller")
    return Caller(arn, account)
