"""python -m tools.docs [--check]: rewrite the generated regions of README.md and docs/**/*.md from the catalog.

A region is ``<!-- generated: NAME [ARG] -->`` ... ``<!-- end generated -->``; NAME is one of ``SECTIONS``. Everything
in it comes from the catalog (catalog/), the customer files (customers/) and bench/results.json, so a new runbook, alarm
kind or resource kind shows up by itself. ``make docs`` rewrites; ``--check`` (and tests/unit/test_docs.py) only
compares and names the files that differ. The tables use the first customer file (dhbw) as the example.

Nothing here names a runbook or a resource kind (tests/unit/test_docs.py checks that). What the stack adds besides
the catalog's runbooks (respond's functions, the mode-change workflow) is listed once below; tests/infra/test_docs.py
checks every list against the synthesized template.
"""

import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import KINDS, RUNBOOKS, CustomerConfig, Runbook, naming, watched_alarms
from catalog.alarms import AlarmKind
from catalog.kinds import ResourceKind
from customers import has_ops, known_customers, load_all, load_customer, load_ops

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "results.json"

# An indented region (inside a list item) is generated with the same indentation.
REGION = re.compile(
    r"^(?P<open>(?P<indent>[ \t]*)<!-- generated: (?P<name>[a-z-]+)(?: (?P<arg>[^ >]+))? -->\n)"
    r"(?P<body>.*?)(?P<close>^(?P=indent)<!-- end generated -->)",
    re.DOTALL | re.MULTILINE,
)

RESPOND = "respond"  # stacks/respond_workflow.py: the workflow every alarm, schedule and security event starts
# The respond workflow's functions (stacks/respond_workflow.py), and the approval function the stack adds when a
# runbook asks for approval, tells teams or has its own workflow (stacks/remediation_stack.py, stacks/approvals.py).
RESPOND_FUNCTIONS = (
    ("admit", "lambdas/handlers/admit.py", "respond: parses and classifies the event, claims it, reads the mode switch"),
    ("page", "lambdas/handlers/page.py", "respond: the diagnosis, the PagerDuty page and the status update"),
    ("record", "lambdas/handlers/record.py", "respond: the audit row, the page again, change events"),
)
APPROVAL_FUNCTION = (
    "approval",
    "lambdas/handlers/approval.py",
    "pending approvals: asks the approvers, records the verified answer, tells the declared teams",
)
ANSWER_FUNCTION = (
    naming.ANSWER_COMPONENT,
    "lambdas/handlers/answer.py",
    "a person's answer to an approval: verifies who answers (IAM), the only one to answer a token",
)
# The audit function (stacks/foundation.py): the state machines' own audit rows join the hash chain through it.
AUDIT_FUNCTION = (
    naming.AUDIT_COMPONENT,
    "lambdas/handlers/audit.py",
    "the workflows' own audit rows (Report, ReportFailure, the mode change): appends them to the hash chain",
)
AUDIT_EXPORT_FUNCTION = (
    naming.AUDIT_EXPORT_COMPONENT,
    "lambdas/handlers/audit_export.py",
    "daily: the day before's audit rows, with their digests, to the Object Lock bucket (stacks/audit_export.py)",
)
UNRESERVED_MINIMUM = 100  # Lambda keeps at least this many unreserved executions per account and region


@dataclass(frozen=True)
class Page:
    """The file a region is rendered into (links are relative to it) and the example customer."""

    path: Path
    config: CustomerConfig

    def link(self, target: str, text: str | None = None) -> str:
        relative = Path(os.path.relpath(ROOT / target, self.path.parent))
        return f"[{text or f'`{target}`'}]({relative.as_posix()})"


# --- what the stack holds, derived from the catalog -------------------------------------------------------------
def workflows() -> list[str]:
    """Every state machine of a customer's stack, by its workflow name (lecture-<c>-<workflow>)."""
    return [RESPOND, *RUNBOOKS, naming.MODE_CHANGE_WORKFLOW]


def has_approval_function() -> bool:
    return any(rb.approval or rb.notify_teams or rb.workflow != "guarded" for rb in RUNBOOKS.values())


def functions() -> list[tuple[str, str, str]]:
    """(component, code, what it does) of every Lambda function: lecture-<c>-remediation-<component>."""
    found = list(RESPOND_FUNCTIONS) + [AUDIT_FUNCTION, AUDIT_EXPORT_FUNCTION]
    found += [APPROVAL_FUNCTION, ANSWER_FUNCTION] if has_approval_function() else []
    found += [
        (rb.name, f"lambdas/runbooks/{naming.module_name(rb.name)}.py", f"{rb.name}: the steps of its state machine")
        for rb in RUNBOOKS.values()
    ]
    return found


def output_name(workflow: str) -> str:
    """The stack output of a state machine (stacks/remediation_stack.py): respond -> RespondStateMachine."""
    return naming.module_name(workflow).title().replace("_", "") + "StateMachine"


def outputs(config: CustomerConfig) -> list[tuple[str, str]]:
    """(output, value) of the stack's outputs: respond's and each runbook's state machine, the mode switch, the topic."""
    c = config
    machines = [
        (output_name(w), f"arn:aws:states:{c.region}:{c.account}:stateMachine:{naming.state_machine_name(c.customer, w)}")
        for w in (RESPOND, *RUNBOOKS)
    ]
    return machines + [
        ("ModeParameter", naming.mode_parameter_name(c.customer)),
        ("StatusTopic", f"arn:aws:sns:{c.region}:{c.account}:{naming.topic_name(c.customer)}"),
        ("AuditExportBucket", naming.audit_export_bucket(c.customer, c.account)),
    ]


def log_groups(config: CustomerConfig) -> list[str]:
    """Every log group of the stack: one per function, one per state machine."""
    c = config.customer
    return [naming.function_log_group(naming.function_name(c, f)) for f, _, _ in functions()] + [
        naming.state_machine_log_group(naming.state_machine_name(c, w)) for w in workflows()
    ]


def automation_alarms(config: CustomerConfig) -> list[str]:
    """The alarms on the automation itself (stacks/alarms.py, AlarmRouting): its DLQ and each workflow's failures."""
    c = config.customer
    return [naming.self_alarm_name(c, "dead-letters"), *(naming.self_alarm_name(c, f"{w}-failed") for w in workflows())]


def reserved_quota(config: CustomerConfig | None = None) -> int:
    """The account concurrency quota the stack needs with reserved concurrency on (default: the model's default)."""
    value = (
        config.lambda_reserved_concurrency
        if config is not None
        else CustomerConfig.model_fields["lambda_reserved_concurrency"].default
    )
    return UNRESERVED_MINIMUM + len(functions()) * (value or 0)


# --- formatting -------------------------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    text = f"{value:g}" if value != int(value) else str(int(value))
    mib = 1024 * 1024
    if value >= mib and value % mib == 0:  # CloudWatch thresholds in bytes (FreeableMemory)
        text += f" ({int(value // mib)} MiB)"
    return text


COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def _threshold(alarm: AlarmKind, config: CustomerConfig, instance: str | None) -> str:
    shown = _number(alarm.threshold_for(config, instance) if instance is not None else alarm.threshold)
    if alarm.threshold_of is not None:  # read from the customer file
        shown += f" (from {config.customer}'s customer file)" if instance is not None else " (from the customer file)"
    return (
        f"{alarm.namespace} {alarm.metric} {alarm.statistic} {COMPARISONS.get(alarm.comparison, alarm.comparison)} "
        f"{shown}, "
        + (f"{alarm.datapoints_to_alarm} of " if alarm.datapoints_to_alarm else "")
        + f"{alarm.evaluation_periods} x {alarm.period_seconds} s"
    )


def _answer(alarm: AlarmKind, page: Page) -> str:
    if alarm.runbook is None:
        return f"page only: {alarm.no_runbook_reason}" if alarm.no_runbook_reason else "page only"
    rb = RUNBOOKS[alarm.runbook]
    name = page.link(f"docs/runbooks/{rb.name}.md", f"`{rb.name}`")
    given = f" with `{json.dumps(alarm.runbook_input)}`" if alarm.runbook_input else ""
    return f"{name}{given}, then page" if rb.runs_before_page else f"page, then {name}{given}"


def _cli_start(rb: Runbook, customer: str) -> str:
    """The `python cli.py start` command of a runbook's example input (key=value pairs, or --input)."""
    values = rb.example_input

    def parses(v: Any) -> bool:
        try:
            json.loads(v)
        except ValueError:
            return False
        return True

    head = f"python cli.py start {rb.name} -c {customer}"
    if any(isinstance(v, str) and parses(v) for v in values.values()):  # the CLI would read it as JSON
        return f"{head} --input {shlex.quote(json.dumps(values))}"
    pairs = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in values.items()]
    return " ".join([head, *(shlex.quote(p) for p in pairs)])


def _started_by(rb: Runbook, config: CustomerConfig) -> str:
    ways = []
    for kind in KINDS.values():
        conditions = [a.condition for a in kind.alarm_kinds if a.runbook == rb.name]
        if conditions:
            ways.append(f"{kind.title} alarms ({', '.join(conditions)})")
    if rb.schedule is not None:
        expression = rb.schedule(config)
        ways.append(f"schedule (`{expression}` for {config.customer})" if expression else f"schedule (off for {config.customer})")
    parents = [p.name for p in RUNBOOKS.values() if any(child.runbook == rb.name for child in p.children)]
    if parents:
        ways.append(", ".join(f"`{p}`" for p in parents))
    return ", ".join([*ways, "by hand"])


# --- the sections -----------------------------------------------------------------------------------------------
def runbooks(page: Page, _: str | None) -> str:
    rows = [
        (
            page.link(f"docs/runbooks/{rb.name}.md", f"`{rb.name}`"),
            rb.title,
            _started_by(rb, page.config),
            "yes" if rb.approval else "",
        )
        for rb in RUNBOOKS.values()
    ]
    return _table(("Runbook", "What it does", "Started by", "Approval"), rows)


def console_inputs(page: Page, _: str | None) -> str:
    # one row per runbook, `name` [(needs approval)] | `{json}` (tests/live read the rows in this shape and order)
    rows = [
        (f"`{rb.name}`" + (" (needs approval)" if rb.approval else ""), f"`{json.dumps(rb.example_input)}`")
        for rb in RUNBOOKS.values()
    ]
    return _table(
        (f"Runbook (state machine `{naming.state_machine_name(page.config.customer, '<runbook>')}`)", "Example input"), rows
    )


def console_input(page: Page, name: str | None) -> str:
    if name not in RUNBOOKS:
        raise ValueError(f"console-input needs a runbook, one of {', '.join(RUNBOOKS)}; got {name!r}")
    rb, c = RUNBOOKS[name], page.config
    return (
        f"Console start: in the Step Functions console open `{naming.state_machine_name(c.customer, rb.name)}`, "
        f"*Start execution*, with the input\n\n```json\n{json.dumps(rb.example_input)}\n```\n\n"
        f"or from the operators' CLI: `{_cli_start(rb, c.customer)}`"
        + (" (it then waits for an approval)" if rb.approval else "")
        + ".\n"
    )


def state_machines(page: Page, _: str | None) -> str:
    c = page.config.customer
    by_hand = {
        RESPOND: "alarms, schedules, security events (EventBridge); by hand",
        naming.MODE_CHANGE_WORKFLOW: "a change of the mode switch (CloudTrail, EventBridge)",
    }
    rows = [
        (
            f"`{naming.state_machine_name(c, w)}`",
            by_hand.get(w) or _started_by(RUNBOOKS[w], page.config),
            f"`{naming.state_machine_log_group(naming.state_machine_name(c, w))}`",
            f"`{naming.self_alarm_name(c, f'{w}-failed')}`",
        )
        for w in workflows()
    ]
    return _table((f"State machine ({c})", "Started by", "Log group", "Alarm on failed executions"), rows)


def outputs_section(page: Page, _: str | None) -> str:
    return _table(
        ("Output", f"Value ({page.config.customer})"), [(f"`{name}`", f"`{value}`") for name, value in outputs(page.config)]
    )


def functions_section(page: Page, _: str | None) -> str:
    c = page.config.customer
    rows = [
        (
            f"`{naming.function_name(c, component)}`",
            what,
            page.link(code),
            f"`{naming.function_log_group(naming.function_name(c, component))}`",
        )
        for component, code, what in functions()
    ]
    return _table((f"Function ({c})", "What it does", "Code", "Log group"), rows)


def alarms_section(page: Page, _: str | None) -> str:
    config = page.config
    watched = watched_alarms(config)
    rows = []
    for kind in KINDS.values():
        if not kind.alarm_kinds:
            continue
        instances = kind.instances(config)
        for alarm in kind.alarm_kinds:
            names = [n for n, w in watched.items() if w.kind.name == kind.name and w.alarm.condition == alarm.condition]
            shown = ", ".join(f"`{n}`" for n in names) or f"`{_pattern(kind, alarm, config)}` (when named)"
            rows.append(
                (
                    shown,
                    kind.title,
                    alarm.description,
                    _threshold(alarm, config, instances[0] if instances else None),
                    f"{alarm.severity.value}",
                    _answer(alarm, page),
                )
            )
    return _table((f"Alarm ({config.customer})", "Resource", "What", "Metric, threshold", "Priority", "Answered by"), rows)


def alarm_severities(page: Page, _: str | None) -> str:
    rows = []
    for kind in KINDS.values():
        named = "" if kind.instances(page.config) else " (only when the customer file names one)"
        for alarm in kind.alarm_kinds:
            sev = alarm.severity
            rows.append(
                (
                    f"{kind.title} `{alarm.condition}`{named}",
                    f"{sev.value} {sev.description}",
                    f"`{sev.pagerduty_severity}`",
                    f"{sev.response_time} / {sev.escalation}",
                    _answer(alarm, page),
                )
            )
    return _table(("Alarm kind", "Priority", "PagerDuty severity", "Response time / escalation", "Answer"), rows)


def _pattern(kind: ResourceKind, alarm: AlarmKind, config: CustomerConfig) -> str:
    return naming.alarm_name(config.customer, f"<{kind.target_field}>", alarm.condition)


def automation_alarms_section(page: Page, _: str | None) -> str:
    c = page.config.customer
    dead, *failed = automation_alarms(page.config)
    rows = [
        (
            f"`{dead}`",
            f"EventBridge could not start `{naming.state_machine_name(c, RESPOND)}`, even after its "
            f"retries: the event is in the SQS queue `{naming.dead_letter_queue_name(c)}`",
        )
    ]
    rows += [
        (f"`{name}`", f"a `{naming.state_machine_name(c, w)}` execution ended FAILED")
        for name, w in zip(failed, workflows(), strict=True)
    ]
    return _table(("Alarm (to the status topic)", "Fires when"), rows)


def reserved_concurrency(page: Page, _: str | None) -> str:
    default = CustomerConfig.model_fields["lambda_reserved_concurrency"].default
    fixed = [f for f, _, _ in functions() if f not in RUNBOOKS]
    n = len(functions())
    return (
        f"Each of the stack's {n} functions ({', '.join(fixed)}, and one per runbook: {len(RUNBOOKS)}) gets "
        f"`lambda_reserved_concurrency` (default {default}) reserved executions, so a storm elsewhere in the "
        f"account cannot starve the remediation. Lambda keeps at least {UNRESERVED_MINIMUM} unreserved executions "
        f"per account and region, so the account's concurrency quota must be at least {UNRESERVED_MINIMUM} + "
        f"{n} x value ({reserved_quota()} with the default) plus what other functions reserve.\n"
    )


def scope(page: Page, _: str | None) -> str:
    kinds = [k.title for k in KINDS.values()]
    c = page.config.customer
    return (
        f"Each customer's stack (`{naming.stack_name('<c>')}`) holds {len(RUNBOOKS)} runbooks, "
        f"{len(workflows())} state machines ({RESPOND}, one per runbook, {naming.MODE_CHANGE_WORKFLOW}), "
        f"{len(functions())} Lambda functions and, for {c}, {len(watched_alarms(page.config))} alarms on its "
        f"resources plus {len(automation_alarms(page.config))} on the automation itself. Resource kinds: "
        f"{', '.join(kinds)}.\n"
    )


def _cold_import_row(how: str, figures: dict, after: str = "") -> tuple[str, str, str]:
    """A row of the handlers' cold-import ratios to `import boto3` (timed or counted), against their target."""
    handlers = figures["handlers"].items()
    ratios = ", ".join(f"{module.rsplit('.', 1)[-1]} {v['ratio_to_boto3']:.2f}" for module, v in handlers)
    worst = max(v["ratio_to_boto3"] for _, v in handlers)
    met = "" if worst <= figures["target_ratio_max"] else " (**not met**)"
    return f"handler cold import / `import boto3`, {how}", ratios + after, f"<= {figures['target_ratio_max']}{met}"


def bench(page: Page, _: str | None) -> str:
    results = json.loads(BENCH.read_text())
    rows = []
    if latency := results.get("alarm_to_scaling_call_seconds"):
        rows.append(
            (
                f"alarm to the scaling call in the sandbox, median of {latency['runs']}",
                f"{latency['median']:.2f} s (min {latency['min']:.2f}, max {latency['max']:.2f}, "
                f"cold {latency['first_run_cold']:.2f})",
                "-",
            )
        )
    if incident := results.get("per_incident"):
        targets = incident.get("targets", {})
        rows.append(
            (
                "state transitions per scale-out incident",
                str(incident["state_transitions"]),
                f"<= {targets['state_transitions_max']}" if "state_transitions_max" in targets else "-",
            )
        )
        rows.append(
            (
                "Lambda invocations per scale-out incident",
                str(incident["lambda_invocations"]),
                f"<= {targets['lambda_invocations_max']}" if "lambda_invocations_max" in targets else "-",
            )
        )
        cost = incident["cost_usd"]
        rows.append(
            ("cost per incident at list prices", f"${cost['total']:.5f} (Step Functions ${cost['step_functions']:.6f})", "-")
        )
    for run, figures in results.get("data_protection_runs", {}).items():
        rows.append(
            (
                f"{run}: state transitions, Lambda invocations",
                f"{figures['state_transitions']}, {figures['lambda_invocations']} ({figures['polls']} "
                f"poll{'' if figures['polls'] == 1 else 's'}; "
                f"outcome {figures['outcome']})",
                "-",
            )
        )
    if asset := results.get("asset"):
        rows.append(
            (
                "Lambda code asset",
                f"{asset['zip_bytes'] / 1024:.0f} KB zipped, {asset['unzipped_bytes'] / 1024:.0f} KB unzipped",
                f"<= {asset['target_max_bytes'] // 1024} KB zipped",
            )
        )
    if imports := results.get("cold_import"):
        rows.append(_cold_import_row(f"median of {imports['rounds']}", imports))
    if counted := results.get("cold_import_instructions"):
        floor = counted["libraries_with_field"]["ratio_to_boto3"]
        rows.append(
            _cold_import_row(
                "in instructions (callgrind)", counted, f"; the libraries with pydantic's `Field` alone: {floor:.2f}"
            )
        )
    for key, d in (results.get("detection") or {}).get("kinds", {}).items():
        paths = []
        if alarm := d.get("alarm"):
            m = alarm["datapoints_to_alarm"] or alarm["evaluation_periods"]
            paths.append(f"alarm {alarm['period_seconds']} s x {m} of {alarm['evaluation_periods']}")
        if events := d.get("events"):
            paths.append(f"its service events, delivery assumed <= {events['assumed_delivery_seconds']} s")
        before = f"; before: {d['before_seconds']} s" if "before_seconds" in d else ""
        rows.append(
            (
                f"worst-case detection of `{key}` (from the template)",
                f"{d['worst_case_seconds']} s ({', '.join(paths)}{before})",
                f"<= {d['goal_seconds']} s" + ("" if d["meets_goal"] else " (**not met**)"),
            )
        )
    note = f"\n{results['machine_note']}.\n" if results.get("machine_note") else ""
    return _table(("figure", "measured", "target"), rows) + note


def fleet(page: Page, _: str | None) -> str:
    """The ops account's correlation, from customers/ops.yaml and the catalog's "down" alarm kinds; the bench's
    fleet figures when bench/results.json has them."""
    if not has_ops():
        return "No ops account is configured (`customers/ops.yaml`).\n"
    from catalog.alarms import down_alarm_kind_keys

    ops, c = load_ops(), load_ops().correlation
    customers = ", ".join(f"{x.customer} ({x.account})" for x in load_all())
    text = (
        f"The ops account {ops.account} ({ops.region}, `customers/ops.yaml`) accepts incident events from the customer "
        f'accounts {customers}. A P0 opens when at least {c.min_customers} customers have an open "down" incident '
        f"that went down within {c.window_minutes} minutes of each other, and resolves when fewer than "
        f'{c.min_customers} stay down for {c.recover_minutes} minutes. The alarm kinds that mean "down": '
        + ", ".join(f"`{k}`" for k in sorted(down_alarm_kind_keys()))
        + ".\n"
    )
    figures = json.loads(BENCH.read_text()).get("fleet") if BENCH.exists() else None
    if figures:
        per = figures["per_incident_event"]
        cells = "; ".join(
            f"{n} customers: {r['state_transitions_mean']} transitions, {r['lambda_invocations_mean']} Lambda "
            f"invocations, {r['dynamodb_calls_per_event']} DynamoDB calls, {r['dynamodb_scans']} scans"
            for n, r in per.items()
        )
        text += (
            f"\nLast `make bench` (per incident event, mean): {cells}. From the second customer's down alarm to the P0 "
            f"trigger: {figures['second_down_to_p0']['seconds_wall_in_sandbox']} s in the sandbox.\n"
        )
    return text


Section = Callable[[Page, str | None], str]
SECTIONS: dict[str, Section] = {
    "scope": scope,
    "runbooks": runbooks,
    "console-inputs": console_inputs,
    "console-input": console_input,
    "state-machines": state_machines,
    "outputs": outputs_section,
    "functions": functions_section,
    "alarms": alarms_section,
    "alarm-severities": alarm_severities,
    "automation-alarms": automation_alarms_section,
    "reserved-concurrency": reserved_concurrency,
    "bench": bench,
    "fleet": fleet,
}


# --- rewriting ---------------------------------------------------------------------------------------------------
def example_customer() -> CustomerConfig:
    return load_customer(known_customers()[0])


def render(text: str, path: Path, config: CustomerConfig | None = None) -> str:
    """The text with every generated region rewritten."""
    page = Page(path, config or example_customer())

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in SECTIONS:
            raise ValueError(f"{path.relative_to(ROOT)}: unknown generated region {name!r}; known: {', '.join(SECTIONS)}")
        body = SECTIONS[name](page, match["arg"])
        indent = match["indent"]
        body = "".join(indent + line if line.strip() else line for line in body.splitlines(keepends=True))
        return match["open"] + body + match["close"]

    return REGION.sub(replace, text)


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def stale(root: Path = ROOT) -> list[Path]:
    """The documents whose generated regions differ from what the catalog generates."""
    config = example_customer()
    return [p for p in documents(root) if render(p.read_text(), p, config) != p.read_text()]


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        found = stale()
        for path in found:
            print(f"{path.relative_to(ROOT)}: generated text is out of date; run `make docs`", file=sys.stderr)
        return 1 if found else 0
    if argv:
        print("usage: python -m tools.docs [--check]", file=sys.stderr)
        return 2
    config = example_customer()
    for path in documents():
        text = path.read_text()
        new = render(text, path, config)
        if new != text:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
