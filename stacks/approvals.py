"""The approval function every runbook that asks for approval (or tells teams of its outcome) shares.

It stores a waiting task token as the execution's pending approval, tells the approvers (SNS and a low-urgency
PagerDuty note), records the answer and tells the declared teams of the outcome (lambdas/handlers/approval.py)."""

from constructs import Construct

from catalog import RUNBOOKS, CustomerConfig
from stacks.foundation import Foundation


class Approvals(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: CustomerConfig, foundation: Foundation) -> None:
        super().__init__(scope, construct_id)
        self.function = foundation.function(self, "Function", component="approval",
                                            handler="lambdas.handlers.approval.handler", statements=[])
        # the pending item (put, then removed once answered) and the audit row of the answer
        foundation.grant_table(self.function, ("PutItem", "DeleteItem"))
        foundation.topic.grant_publish(self.function)
        # the approvers (infrastructure) and the teams runbooks tell of their outcome: no other team's key
        teams = tuple(sorted({"infrastructure", *(t for rb in RUNBOOKS.values() for t in rb.notify_teams)}))
        foundation.grant_routing_key_read(self.function, teams)
