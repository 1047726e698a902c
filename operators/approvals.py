"""Pending approvals (and a maintenance window's "done"): list them and answer them.

A runbook that needs approval waits for a Step Functions task token; the approval function stores the token in the
remediation table (pk ``approval#pending``, sk the execution's name). Answering sends the token back
(SendTaskSuccess / SendTaskFailure) with who answered, when and their comment, then removes the pending item.
"""

from collections.abc import Callable
from typing import Any

Clients = Callable[[str], Any]


def pending(clients: Clients, config: Any) -> list[dict[str, Any]]:
    """The pending approvals of the customer, oldest first."""
    raise NotImplementedError("the lead is writing this")


def answer(clients: Clients, config: Any, execution: str, *, approve: bool, by: str, comment: str = "") -> dict:
    """Approve or reject the pending approval of ``execution`` (its name or ARN)."""
    raise NotImplementedError("the lead is writing this")
