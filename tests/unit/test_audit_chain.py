"""The audit trail's hash chain (catalog/audit_chain.py) and its append (Store.audit) on moto's DynamoDB."""

from datetime import timedelta
from decimal import Decimal

import pytest

from catalog import audit_chain
from catalog.audit_chain import CHAIN_HEAD_PK, CHAIN_HEAD_SK, verify
from lambdas.errors import AuditNotAppended
from lambdas.logic.store import AUDIT_ATTEMPTS, Store
from tests.unit.builders import NOW


def chain(n: int) -> tuple[list[dict], dict]:
    rows, prev = [], audit_chain.GENESIS
    for i in range(1, n + 1):
        row = audit_chain.link({"pk": f"audit#e{i}", "sk": f"2026-12-01T10:0{i}:00+00:00#report", "outcome": "ok"}, i, prev)
        rows.append(row)
        prev = row[audit_chain.DIGEST]
    last = rows[-1]
    head = {"seq": n, "digest": prev, "row_pk": last["pk"], "row_sk": last["sk"]}
    return rows, head


# --- the pure chain ----------------------------------------------------------------------------------
def test_an_intact_chain_verifies_in_any_order_and_with_numbers_as_text_or_decimal():
    rows, head = chain(3)
    as_read = [{**r, "chain_seq": Decimal(r["chain_seq"])} for r in reversed(rows)]
    assert verify(as_read, {**head, "seq": Decimal(3)}).intact
    assert verify([{**r, "chain_seq": str(r["chain_seq"])} for r in rows], {**head, "seq": "3"}) == audit_chain.Verdict(3, None)
    assert verify([], None).intact


def test_an_edited_row_is_named_with_its_key_and_time():
    rows, head = chain(3)
    rows[1] = {**rows[1], "outcome": "nothing happened"}
    verdict = verify(rows, head)
    assert not verdict.intact and verdict.broken is not None
    assert (verdict.broken.pk, verdict.broken.time) == ("audit#e2", "2026-12-01T10:02:00+00:00")
    assert verdict.broken.problem.startswith("edited")


def test_a_deleted_row_is_missing_at_the_next_one_and_a_deleted_last_row_at_the_head():
    rows, head = chain(3)
    verdict = verify([rows[0], rows[2]], head)
    assert verdict.broken is not None and verdict.broken.pk == "audit#e3" and verdict.broken.problem.startswith("missing")
    verdict = verify(rows[:2], head)
    assert verdict.broken is not None and verdict.broken.pk == "audit#e3" and "chain head names place 3" in verdict.broken.problem
    verdict = verify(rows, None)
    assert verdict.broken is not None and verdict.broken.problem == "missing: the chain head is gone"


def test_rows_swapped_with_their_digests_recomputed_are_reordered():
    rows, head = chain(3)
    # an attacker moves row 3 to place 2 and recomputes its digest: it does not follow row 1
    moved = audit_chain.link({k: v for k, v in rows[2].items() if not k.startswith("chain_") and k != "digest"}, 2, "f" * 64)
    verdict = verify([rows[0], moved, rows[2]], head)
    assert verdict.broken is not None and verdict.broken.pk == "audit#e3" and verdict.broken.problem.startswith("reordered")


def test_a_row_written_past_the_chain_is_not_chained():
    rows, head = chain(2)
    verdict = verify([*rows, {"pk": "audit#forged", "sk": "2026-12-01T09:00:00+00:00#report", "outcome": "ok"}], head)
    assert verdict.broken is not None and verdict.broken.pk == "audit#forged" and verdict.broken.problem.startswith("not chained")


# --- the append ---------------------------------------------------------------------------------------
def rows_and_head(table):
    items = table.scan()["Items"]
    rows = [i for i in items if i["pk"].startswith("audit#")]
    head = next((i for i in items if i["pk"] == CHAIN_HEAD_PK and i["sk"] == CHAIN_HEAD_SK), None)
    return rows, head


def test_appends_chain_each_row_to_the_previous_and_keep_no_expiry(table):
    Store(table, NOW).audit("exec-1", "report", {"outcome": "scaled", "plan": {"delta": 1}})
    Store(table, NOW + timedelta(seconds=1)).audit("mode-switch", "mode-change", {"who": "arn:x"}, sk="t#mode-change#id")
    rows, head = rows_and_head(table)
    assert verify(rows, head) == audit_chain.Verdict(2, None)
    first, second = sorted(rows, key=lambda r: r["chain_seq"])
    assert first["chain_prev"] == audit_chain.GENESIS and second["chain_prev"] == first["digest"]
    assert second["sk"] == "t#mode-change#id" and first["plan"] == '{"delta": 1}' and first["step"] == "report"
    assert head["digest"] == second["digest"] and (head["row_pk"], head["row_sk"]) == ("audit#mode-switch", "t#mode-change#id")
    assert not [r for r in rows if "expires_at" in r]


def test_an_audit_row_is_never_overwritten(table):
    Store(table, NOW).audit("exec-1", "report", {"outcome": "scaled"})
    with pytest.raises(AuditNotAppended, match="exists already"):
        Store(table, NOW).audit("exec-1", "report", {"outcome": "forged"})
    rows, head = rows_and_head(table)
    assert [r["outcome"] for r in rows] == ["scaled"] and verify(rows, head).intact


def test_a_writer_that_loses_the_race_for_the_head_appends_after_the_winner(table):
    # given writer A has read the head when writer B appends (B's append runs inside A's first transaction call)
    other = Store(table, NOW + timedelta(seconds=1))
    raced = []

    def b_appends_first(**_):
        if not raced:
            raced.append(True)
            other.audit("exec-b", "report", {"outcome": "b"})

    table.meta.client.meta.events.register("before-call.dynamodb.TransactWriteItems", b_appends_first)
    try:
        Store(table, NOW).audit("exec-a", "report", {"outcome": "a"})
    finally:
        table.meta.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", b_appends_first)
    # then one chain: B first, A after it
    rows, head = rows_and_head(table)
    assert verify(rows, head) == audit_chain.Verdict(2, None)
    assert [r["outcome"] for r in sorted(rows, key=lambda r: r["chain_seq"])] == ["b", "a"]


def test_a_head_that_keeps_moving_fails_the_append_loudly(table):
    Store(table, NOW).audit("exec-0", "report", {"outcome": "first"})
    moves = []

    def someone_moves_the_head(**_):
        moves.append(1)
        table.update_item(
            Key={"pk": CHAIN_HEAD_PK, "sk": CHAIN_HEAD_SK},
            UpdateExpression="SET digest = :d",
            ExpressionAttributeValues={":d": f"{len(moves):064x}"},
        )

    table.meta.client.meta.events.register("before-call.dynamodb.TransactWriteItems", someone_moves_the_head)
    try:
        with pytest.raises(AuditNotAppended, match=f"moved on {AUDIT_ATTEMPTS} times"):
            Store(table, NOW + timedelta(seconds=1)).audit("exec-1", "report", {"outcome": "never"})
    finally:
        table.meta.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", someone_moves_the_head)
    assert len(moves) == AUDIT_ATTEMPTS
    assert [r["outcome"] for r in rows_and_head(table)[0]] == ["first"]


# --- the audit function takes rows only from a running execution at an audit state ----------------------------
def test_a_direct_invoke_of_the_audit_function_writes_no_row(table, dhbw, session):
    from lambdas.errors import ApprovalNotProven, InvalidInput
    from lambdas.logic import audit

    sfn = session.client("stepfunctions")
    forged = {
        "execution_arn": "arn:aws:states:eu-central-1:111111111111:execution:lecture-dhbw-scale-ecs-service:forged",
        "workflow": "scale-ecs-service",
        "step": "report",
        "sk": "2026-12-01T10:00:00Z#report",
        "record": {"runbook": "scale-ecs-service", "outcome": "scaled"},
    }
    with pytest.raises(ApprovalNotProven, match="there is no execution"):
        audit.append(audit.parse(forged), config=dhbw, store=Store(table, NOW), sfn=sfn)
    other = {**forged, "workflow": "tune-lambda"}  # an ARN of another state machine than it names
    with pytest.raises(ApprovalNotProven, match="names no execution of lecture-dhbw-tune-lambda"):
        audit.append(audit.parse(other), config=dhbw, store=Store(table, NOW), sfn=sfn)
    for bad in ({**forged, "step": "approval"}, {**forged, "subject": "a b"}, {**forged, "extra": 1}):
        with pytest.raises(InvalidInput, match="invalid audit row"):
            audit.parse(bad)
    assert rows_and_head(table) == ([], None)
