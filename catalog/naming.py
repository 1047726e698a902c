"""Resource names, in the runbook's own words. One function per name, used by stacks and Lambdas."""

PREFIX = "lecture"

# Partition-key prefixes of the automation table (lambdas/logic/store.py). Functions may change rows
# under STATE_KEY_PREFIXES; audit rows they may only put (IAM dynamodb:LeadingKeys). A new kind of row
# needs its prefix here, or its writes are denied.
# window#: open maintenance windows (maintenance-window writes them; health-check reads them)
STATE_KEY_PREFIXES: tuple[str, ...] = ("claim#", "open#", "state#", "floor#", "cooldown#", "alerts#", "approval#", "window#")
# The key prefixes each fixed function's table grant names (a runbook declares its own: Runbook.table_prefixes).
FUNCTION_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "admit": ("claim#", "open#", "state#", "window#"),  # claims, incidents, alarm states; a window suppresses
    "record": ("open#",),  # is the incident still open?
    "approval": ("approval#",),  # the pending item
    "answer": ("approval#",),  # the pending item, its votes
}
APPROVALS_PK = "approval#pending"  # sk: the execution's ARN; one item per pending approval
# The verified answers (sk: the execution's ARN): written only by the answer function (its own prefix, granted to
# it alone), read by act before it changes anything (docs/runbooks/approvals.md).
ANSWERS_PK = "answer#verified"
ANSWER_KEY_PREFIX = "answer#"
ANSWER_COMPONENT = "answer"  # lecture-<c>-remediation-answer: the one entry point for a person's answer
# The states of a wait for a person (stacks/workflow_parts.py): the approval function takes its request and
# answered steps only from an execution that is at one of them.
REQUEST_STATES: tuple[str, ...] = ("WaitForApproval", "WaitForDone")
ANSWERED_STATES: tuple[str, ...] = ("RecordAnswer", "RecordDone")
# what is waited for at each of those states: an approval, or a maintenance window's "done" (one execution may
# wait for both, one after the other: each has its own verified answer)
WAIT_KINDS: dict[str, str] = {
    "WaitForApproval": "approval",
    "RecordAnswer": "approval",
    "WaitForDone": "done",
    "RecordDone": "done",
}


def answer_key(execution_arn: str, kind: str) -> str:
    """The sort key of an execution's verified answer (pk ANSWERS_PK): its ARN for the approval, with the kind for
    any other wait."""
    return execution_arn if kind == "approval" else f"{execution_arn}#{kind}"


AUDIT_KEY_PREFIX = "audit#"
# lecture-<c>-remediation-audit: the state machines' own audit rows go through it (the hash chain, Store.audit). It takes
# calls only from a running execution of the customer's state machines, at one of these states.
AUDIT_COMPONENT = "audit"
AUDIT_STATES: tuple[str, ...] = ("Report", "ReportFailure", "Audit")
AUDIT_EXPORT_COMPONENT = "audit-export"  # lecture-<c>-remediation-audit-export: the day's rows to the locked bucket


def audit_export_bucket(customer: str, account: str) -> str:
    """The Object Lock bucket of the audit trail's daily export (bucket names are global: the account in it)."""
    return f"{PREFIX}-{customer}-audit-export-{account}"


def audit_export_key(day: str) -> str:
    """One JSON Lines object per day (YYYY-MM-DD): audit/2026/12/01.jsonl."""
    return f"audit/{day[:4]}/{day[5:7]}/{day[8:10]}.jsonl"


MODE_CHANGE_WORKFLOW = "mode-change"  # state machine lecture-<c>-mode-change: mode switch changes -> topic + audit


def window_key(service: str) -> str:
    """The partition key of a service's open maintenance window (sort key "open"): admit suppresses its alarms."""
    return f"window#{service}"


def stack_name(customer: str) -> str:
    return f"{PREFIX}-{customer}-remediation"


def alarm_name(customer: str, target: str, condition: str) -> str:
    """lecture-<c>-<target>-<condition>; a target already named lecture-<c>-... (the RDS cluster) is not
    prefixed twice: lecture-dhbw-cluster-cpu-high, not lecture-dhbw-lecture-dhbw-cluster-cpu-high."""
    return f"{group(customer)}-{target.removeprefix(group(customer) + '-')}-{condition}"


# The tag that marks a snapshot as the automation's own: prune deletes only snapshots carrying it (and IAM
# allows DeleteDBClusterSnapshot only on them, through rds:cluster-snapshot-tag/<key>). Never set by people.
# The value is the same for every customer, so the IAM condition is a literal; the customer has its own tag.
CREATED_BY_TAG = "created-by"
CREATED_BY = f"{PREFIX}-remediation"


def snapshot_prefix(customer: str) -> str:
    """Every snapshot the automation names starts with this (lecture-<c>-<manual|auto>-...); IAM scopes to it."""
    return f"{PREFIX}-{customer}-"


def restored_cluster_name(customer: str) -> str:
    """Where restore-rds-cluster restores a snapshot (the runbook's lecture-$CUSTOMER-cluster-restored)."""
    return f"{PREFIX}-{customer}-cluster-restored"


# restore-drill's temporary clusters: named with this prefix AND tagged drill=true (plus created-by); the drill
# deletes a cluster only when both hold, and IAM allows DeleteDBCluster only on such names with that tag.
DRILL_TAG = "drill"


def drill_cluster_prefix(customer: str) -> str:
    return f"{PREFIX}-{customer}-drill-"


def alarm_arn_pattern(customer: str, region: str, account: str) -> str:
    """Every alarm of this customer (service alarms and the automation's own), for ArnLike conditions."""
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{PREFIX}-{customer}-*"


def state_machine_name(customer: str, workflow: str) -> str:
    return f"{PREFIX}-{customer}-{workflow}"


def execution_arn(customer: str, region: str, account: str, workflow: str, execution: str) -> str:
    return f"arn:aws:states:{region}:{account}:execution:{state_machine_name(customer, workflow)}:{execution}"


def function_name(customer: str, component: str) -> str:
    return f"{PREFIX}-{customer}-remediation-{component}"


def mode_parameter_name(customer: str) -> str:
    return f"/{PREFIX}/{customer}/remediation/mode"


def table_name(customer: str) -> str:
    return f"{PREFIX}-{customer}-remediation"


def table_arn(customer: str, region: str, account: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{table_name(customer)}"


def topic_name(customer: str) -> str:
    return f"{PREFIX}-{customer}-status-updates"


def dedup_key(customer: str, alarm: str) -> str:
    """PagerDuty dedup_key: one per alarm, so trigger and resolve meet on the same alert."""
    return f"{PREFIX}-{customer}/{alarm}"


def module_name(runbook: str) -> str:
    """scale-ecs-service -> scale_ecs_service (the Lambda module of a runbook)."""
    return runbook.replace("-", "_")


def execution_name(text: str) -> str:
    """A Step Functions execution name: letters, digits, - and _, at most 80 characters."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:80]


def group(customer: str) -> str:
    """The customer's prefix: PagerDuty group and source, display names."""
    return f"{PREFIX}-{customer}"


def dead_letter_queue_name(customer: str) -> str:
    return f"{PREFIX}-{customer}-remediation-dlq"


def rule_name(customer: str, purpose: str) -> str:
    return f"{PREFIX}-{customer}-{purpose}"


def schedule_rule_name(customer: str, runbook: str) -> str:
    """The EventBridge rule that starts a runbook on its schedule (at most 64 characters: no "schedule" in it)."""
    return rule_name(customer, runbook)


def schedule_dedup_key(customer: str, runbook: str) -> str:
    """One PagerDuty alert per scheduled runbook: a failing daily backup updates the same alert."""
    return dedup_key(customer, f"schedule/{runbook}")


def self_alarm_name(customer: str, what: str) -> str:
    """Alarms that watch the automation itself (its DLQ, its failed executions)."""
    return f"{PREFIX}-{customer}-remediation-{what}"


def function_log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def state_machine_log_group(state_machine: str) -> str:
    return f"/aws/vendedlogs/states/{state_machine}"


def status_update_subject(incident_id: str) -> str:
    """The runbook's status update template's subject line."""
    return f"[{incident_id}] - Lecture Infrastructure Issue - Status Update"


# The automation's own EMF metrics (Powertools Metrics: namespace, and the service dimension every metric has)
METRICS_NAMESPACE = "LectureRemediation"
METRICS_SERVICE = f"{PREFIX}-remediation"
PAGES_SENT_METRIC = "pages_sent"  # one per request to PagerDuty, dimension kind: trigger | resolve | change
PAGE_KINDS: tuple[str, ...] = ("trigger", "resolve", "change")


def dashboard_name(customer: str) -> str:
    """The runbook's overview dashboard: Lecture-$CUSTOMER-Overview."""
    return f"Lecture-{customer}-Overview"


# --- the fleet (issue 16): the ops account where every customer's incidents meet -------------------------------
OPS = "ops"
# The incident events each customer stack emits on its default bus (lambdas/logic/incident_events.py); a rule
# forwards them to the ops bus. Source and detail type are the event's contract with the ops stack.
INCIDENT_EVENT_SOURCE = f"{PREFIX}.remediation"
INCIDENT_EVENT_DETAIL_TYPE = "Lecture Incident"
FLEET_DASHBOARD = "Lecture-Fleet-Overview"
CORRELATE_WORKFLOW = "correlate"  # lecture-ops-correlate: an incident event -> the fleet's picture -> the P0
P0_PREFIX = "P0"  # the P0's incident id: P0-<time it opened>; its PagerDuty dedup key: lecture-ops/P0-<time>


def ops_stack_name() -> str:
    return stack_name(OPS)


def ops_bus_name() -> str:
    return f"{PREFIX}-{OPS}-incidents"


def ops_bus_arn(region: str, account: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{ops_bus_name()}"


def ops_table_name() -> str:
    return f"{PREFIX}-{OPS}-fleet"


def oam_sink_name() -> str:
    return f"{PREFIX}-{OPS}-fleet"


def forward_rule_name(customer: str) -> str:
    """The customer's rule that forwards its incident events to the ops bus."""
    return rule_name(customer, "incidents-to-ops")
