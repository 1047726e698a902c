"""The approval functions every runbook that asks for approval (or waits for an operator's "done") shares.

- the approval function (lambdas/handlers/approval.py), called by the state machines only: it stores a waiting task
  token as the execution's pending approval, tells the approvers (SNS and a low-urgency PagerDuty note), records the
  verified answer and tells the declared teams of the outcome;
- the answer function (lambdas/handlers/answer.py), the one entry point through which a person answers: the CLI
  invokes it (lambda:InvokeFunction, IAM-authenticated) with a signed sts:GetCallerIdentity request that proves who
  they are. It alone writes verified answers (answer#) and calls SendTaskSuccess / SendTaskFailure.
"""

from aws_cdk import aws_iam as iam
from constructs import Construct

from catalog import RUNBOOKS, CustomerConfig, naming
from stacks.foundation import Foundation


class Approvals(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: CustomerConfig, foundation: Foundation) -> None:
        super().__init__(scope, construct_id)
        self.function = foundation.function(
            self, "Function", component="approval", handler="lambdas.handlers.approval.handler", statements=[]
        )
        # the pending item (put, then removed once answered), the audit row of the answer; the verified answer read
        foundation.grant_table(self.function, ("PutItem", "DeleteItem"), naming.FUNCTION_KEY_PREFIXES["approval"])
        foundation.grant_answers(self.function, ("GetItem",))
        foundation.grant_executions_read(self.function)  # only the state machine's own execution calls it
        foundation.topic.grant_publish(self.function)
        # the approvers (infrastructure), security (a forged answer) and the teams runbooks tell of their outcome
        teams = tuple(sorted({"infrastructure", "security", *(t for rb in RUNBOOKS.values() for t in rb.notify_teams)}))
        foundation.grant_routing_key_read(self.function, teams)
        self.answer_function = self._build_answer_function(foundation)

    def _build_answer_function(self, foundation: Foundation):
        fn = foundation.function(
            self,
            "AnswerFunction",
            component=naming.ANSWER_COMPONENT,
            handler="lambdas.handlers.answer.handler",
            statements=[
                # a task token names no resource IAM can scope to (the activity's ARN only)
                iam.PolicyStatement(actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"])
            ],
        )
        # (its Resource::* finding is acknowledged on every function's role, for X-Ray, by foundation.function)
        # the pending item, its votes
        foundation.grant_table(fn, ("GetItem", "UpdateItem", "DeleteItem"), naming.FUNCTION_KEY_PREFIXES["answer"])
        foundation.grant_answers(fn, ("PutItem",))  # the only writer of verified answers
        foundation.grant_executions_read(fn)  # the execution waits for this answer now
        foundation.topic.grant_publish(fn)
        foundation.grant_routing_key_read(fn, ("security",))  # a refused answer pages the security team
        return fn
