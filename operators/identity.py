"""The caller's proof of who they are, for the answer function (catalog/proofs.py says what it is made of).

An sts:GetCallerIdentity request, signed by the caller's own STS client (whatever its credentials: a profile, SSO,
an assumed role) for STS's regional endpoint, with the purpose header in the signature, and never sent: only its
headers are handed over, and the function that needs to know sends it to STS itself."""

import uuid
from typing import Any

from catalog import proofs


class _Signed(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("signed")
        self.headers = headers


def sign(sts: Any, region: str, purpose: str) -> dict[str, Any]:
    """{"headers": {...}}: a proof for ``purpose``, signed with the credentials of the ``sts`` client."""
    event = "sts.GetCallerIdentity"
    tag = uuid.uuid4().hex

    def before_sign(request: Any, **_: Any) -> None:
        request.url = proofs.sts_url(region)  # STS's own host, whatever endpoint the client talks to (a sandbox)
        if "Host" in request.headers:
            del request.headers["Host"]
        request.headers[proofs.PURPOSE_HEADER] = purpose

    def before_send(request: Any, **_: Any) -> None:
        raise _Signed({k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()})

    events = sts.meta.events
    events.register_first(f"before-sign.{event}", before_sign, unique_id=f"proof-sign-{tag}")
    events.register_first(f"before-send.{event}", before_send, unique_id=f"proof-send-{tag}")
    try:
        sts.get_caller_identity()
    except _Signed as signed:
        taken = {
            k: v
            for k, v in signed.headers.items()
            if k.lower() in ("authorization", "x-amz-date", "x-amz-security-token", "content-type")
        }
        return {"headers": taken}
    finally:
        events.unregister(f"before-sign.{event}", unique_id=f"proof-sign-{tag}")
        events.unregister(f"before-send.{event}", unique_id=f"proof-send-{tag}")
    raise RuntimeError("the STS client sent the request instead of signing it only")
