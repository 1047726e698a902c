"""The audit trail's hash chain: each audit row carries the digest of the customer's previous audit row.

Pure logic, shared by the Lambdas (lambdas/logic/store.py appends) and the CLI (``cli.py audit verify``). A row is
a plain dict (attribute -> str or number) as a DynamoDB read returns it, numbers as int, Decimal or text. Its digest
is SHA-256 over its canonical JSON (sorted keys, no spaces, numbers as text), the digest attribute itself left out;
it covers the previous row's digest (``CHAIN_PREV``) and the row's place in the chain (``CHAIN_SEQ``), so an edited,
removed or reordered row breaks the chain at the first row it touches. The chain head (pk ``CHAIN_HEAD_PK``) holds
the last row's key and digest; the appends update it in the same transaction as the row.
"""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CHAIN_HEAD_PK = "chain#audit"
CHAIN_HEAD_SK = "head"
CHAIN_KEY_PREFIX = "chain#"
CHAIN_SEQ = "chain_seq"  # 1, 2, 3 ... in the order the rows were appended
CHAIN_PREV = "chain_prev"  # the previous row's digest (GENESIS for the first)
DIGEST = "digest"
GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return str(int(value)) if value == int(value) else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def canonical(row: dict[str, Any]) -> str:
    """The row as canonical JSON, without its own digest."""
    body = {k: _plain(v) for k, v in row.items() if k != DIGEST}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row as plain JSON values (numbers as text), its digest kept: what an export writes."""
    return {k: _plain(v) for k, v in row.items()}


def digest(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row).encode("utf-8")).hexdigest()


def link(row: dict[str, Any], seq: int, prev: str) -> dict[str, Any]:
    """The row as it is appended after the row whose digest is ``prev`` (seq: its place, from 1)."""
    linked = {**row, CHAIN_SEQ: seq, CHAIN_PREV: prev}
    return {**linked, DIGEST: digest(linked)}


@dataclass(frozen=True)
class Break:
    """The first row at which the chain does not hold: its key, its time and what is wrong."""

    pk: str
    sk: str
    time: str
    problem: str

    def describe(self) -> str:
        return f"{self.pk} {self.sk} ({self.time}): {self.problem}"


@dataclass(frozen=True)
class Verdict:
    rows: int
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _seq(row: dict[str, Any]) -> int | None:
    try:
        return int(row[CHAIN_SEQ])
    except (KeyError, TypeError, ValueError):
        return None


def _time(row: dict[str, Any]) -> str:
    return str(row.get("sk", "")).split("#", 1)[0]


def verify(rows: list[dict[str, Any]], head: dict[str, Any] | None) -> Verdict:
    """Check the customer's audit rows (any order) against each other and the chain head; the first break found
    in chain order. Problems: ``edited`` (the digest does not match the row), ``missing`` (a place in the chain has
    no row, or the head names a row that is gone), ``reordered`` (a row does not follow the row before it), ``not
    chained`` (a row without a place in the chain: written past the chain)."""

    def broken(row: dict[str, Any], problem: str) -> Verdict:
        return Verdict(len(rows), Break(str(row.get("pk", "")), str(row.get("sk", "")), _time(row), problem))

    unchained = [r for r in rows if _seq(r) is None or not r.get(DIGEST) or not r.get(CHAIN_PREV)]
    if unchained:
        first = min(unchained, key=lambda r: str(r.get("sk", "")))
        return broken(first, "not chained: it has no place in the chain (chain_seq, chain_prev, digest)")
    ordered = sorted(rows, key=lambda r: (_seq(r), str(r.get("sk", ""))))
    prev_digest, prev_seq = GENESIS, 0
    for row in ordered:
        seq = _seq(row)
        assert seq is not None
        if digest(row) != row[DIGEST]:
            return broken(row, "edited: its digest does not match its content")
        if seq == prev_seq:
            return broken(row, f"reordered: a second row at place {seq} of the chain")
        if seq != prev_seq + 1:
            return broken(row, f"missing: the row(s) at place {prev_seq + 1}..{seq - 1} of the chain are gone")
        if row[CHAIN_PREV] != prev_digest:
            return broken(row, f"reordered: it does not follow the row at place {prev_seq} (its previous digest differs)")
        prev_digest, prev_seq = str(row[DIGEST]), seq
    if head is None:
        if ordered:
            return broken(ordered[-1], "missing: the chain head is gone")
        return Verdict(0, None)
    head_seq = _seq({CHAIN_SEQ: head.get("seq")})
    if head_seq != prev_seq or str(head.get(DIGEST, "")) != prev_digest:
        last = ordered[-1] if ordered else {"pk": str(head.get("row_pk", "")), "sk": str(head.get("row_sk", ""))}
        gone = {"pk": str(head.get("row_pk", "")), "sk": str(head.get("row_sk", ""))}
        return broken(
            gone if head_seq is not None and head_seq > prev_seq else last,
            f"missing: the chain head names place {head_seq} ({head.get('row_pk')} {head.get('row_sk')}), "
            f"the rows end at place {prev_seq}",
        )
    return Verdict(len(rows), None)
