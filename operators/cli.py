"""Operators' CLI: the runbooks by hand, their approvals, history and the customers' status, in AWS or a sandbox.

  python cli.py runbooks
  python cli.py start scale-ecs-service -c dhbw service=lecture-backend-service delta=1
  python cli.py watch <execution ARN>
  python cli.py pending -c dhbw;  python cli.py approve|reject <execution> -c dhbw --comment "..."
  python cli.py history -c dhbw;  python cli.py status --all;  python cli.py mode -c dhbw [enforce|dry-run|off]
  python cli.py incidents --all;  python cli.py incident <id> -c dhbw [--format markdown];  python cli.py health-check --all
  python cli.py audit verify -c dhbw   (the audit trail's hash chain: exit 1 naming the first broken row)

A runbook's input is validated with the runbook's own model before any AWS call. Each customer is read with
--profile if given, else its profile lecture-<c>-prod if it is configured, else the default credential chain; the
first call is sts:GetCallerIdentity, and credentials of another account than the customer file's stop the command
(exit code 2) before anything else is read or changed. Progress and messages go to stderr; a command's result (a
JSON object for start, watch, approve and reject, a table for the others; with --output json one JSON document,
a list of rows for a table) goes to stdout. Times are short and UTC: 2026-12-01 21:40:05Z.
"""

import argparse
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError
from pydantic import ValidationError

from catalog import audit_chain, naming, proofs
from catalog.customer import MODES
from catalog.declaration import RunbookInput
from catalog.runbooks import runbook as declared
from catalog.runbooks import runbook_names
from catalog.validation import describe
from customers import CustomerConfigError, has_ops, known_customers, load_all, load_customer, load_ops
from operators import approvals, incidents, reads
from operators import watch as watching
from operators.aws import (
    AccountClients,
    Clients,
    ClientsFor,
    CliError,
    UsageError,
    WrongAccount,
    error_code,
    explain,
    is_aws_error,
    profile_clients,
)
from operators.fleet import fleet_status
from operators.identity import sign
from operators.output import OUTPUTS, as_json, short, short_time, table

__all__ = ["main", "validate", "UsageError", "CliError", "WrongAccount", "parse_assignments"]

PROG = "python cli.py"
COMMON_FIELDS = tuple(RunbookInput.model_fields)
PENDING_GRACE_SECONDS = 30.0


def every_runbook() -> list[Any]:
    """Every runbook's declaration (``list``): the one command that loads them all."""
    from catalog import RUNBOOKS

    return list(RUNBOOKS.values())


# --- input ------------------------------------------------------------------------------------------
def validate(runbook: str, payload: Any, config: Any = None) -> dict[str, Any]:
    if runbook not in runbook_names():
        raise UsageError(f"unknown runbook {runbook!r}; known: {', '.join(runbook_names())}")
    rb = declared(runbook)
    if not isinstance(payload, dict):
        raise UsageError(f"input must be a JSON object like {json.dumps(rb.example_input)}")
    try:
        rb.input_model.model_validate(payload)
    except ValidationError as exc:
        raise UsageError(describe(exc, f"invalid {runbook} input") + f" (example: {json.dumps(rb.example_input)})") from None
    from catalog.kinds import KINDS  # only where an input is checked against the configuration

    kind = KINDS[rb.target_kind]  # the input names one instance of the runbook's target kind
    target = payload.get(kind.target_field)
    if config is not None and target is not None and target not in kind.instances(config):
        raise UsageError(
            f"{kind.target_field} {target!r} is not configured for customer {config.customer} "
            f"(configured: {', '.join(kind.instances(config))})"
        )
    return payload


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """key=value ... -> a dict; a value is JSON when it parses (delta=1 -> 1, services='["a"]' -> a list),
    else the text itself (service=lecture-backend-service)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {pair!r}")
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
    return out


def read_input(text: str) -> Any:
    """--input: a JSON object, or a file holding one."""
    if not text.lstrip().startswith(("{", "[")) and Path(text).is_file():
        try:
            text = Path(text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--input {text}: cannot read it: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--input is not valid JSON (nor a file): {exc}") from None


def console_url(arn: str, region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"


def _schema_type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + "|".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " or ".join(_schema_type(p) for p in prop["anyOf"] if p.get("type") != "null")
    if prop.get("type") == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    return str(prop.get("type", "object"))


def input_fields(runbook: str) -> list[dict[str, Any]]:
    """The runbook's own input fields (the common ones apart): name, type, required, description."""
    model = declared(runbook).input_model
    props = model.model_json_schema().get("properties", {})
    return [
        {
            "name": name,
            "type": _schema_type(props.get(name, {})),
            "required": field.is_required(),
            "description": field.description or "",
        }
        for name, field in model.model_fields.items()
        if name not in COMMON_FIELDS
    ]


# --- the parser ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # --output before or after the command, as with the AWS CLI
    output_help = "text (default) or json: one JSON document on stdout (a list of rows for a table)"
    parser.add_argument("--output", choices=OUTPUTS, default="text", help=output_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, customer: bool | None = True, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **kw)
        if customer is not None:
            p.add_argument("-c", "--customer", required=customer, help=f"one of {', '.join(known_customers())}")
            p.add_argument(
                "--profile",
                help="AWS profile (default: the customer's aws_profile, lecture-<c>-prod, if "
                "it is configured, else the default credential chain)",
            )
        p.add_argument("--output", choices=OUTPUTS, default=argparse.SUPPRESS, help=output_help)
        return p

    command("runbooks", "the runbooks, with their input fields and an example input", customer=None, aliases=["list"])
    s = command("start", "start a runbook, then watch it")
    s.add_argument("runbook", help=", ".join(runbook_names()))
    s.add_argument(
        "assignments",
        nargs="*",
        metavar="key=value",
        help="input fields; a value is JSON when it parses (delta=1, services='[\"a\"]')",
    )
    s.add_argument("--input", help="the input as a JSON object, or a file holding one (key=value pairs override it)")
    s.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
    s.add_argument("--no-wait", action="store_true", help="print the execution and return")
    w = command("watch", "follow an execution: its steps, then its outcome", customer=False)
    w.add_argument("execution", help="the execution's ARN, or its name with -c and --runbook")
    w.add_argument("--runbook", help="the workflow, when EXECUTION is a name (a runbook, or respond)")
    for verb in ("approve", "reject"):
        a = command(verb, f"{verb} the pending approval of an execution", customer=False)
        a.add_argument("execution", help="the execution's ARN, or its name with -c")
        a.add_argument(
            "--comment",
            default="",
            help="why (kept with the answer); who answers is your identity, "
            "proven to the answer function (sts:GetCallerIdentity)",
        )
    command("pending", "the approvals waiting for an answer")
    h = command("history", "recent runbook executions and their outcomes, from the audit table")
    h.add_argument("--limit", type=int, default=20)
    h.add_argument("--runbook", help="only this runbook's executions")
    h.add_argument("--wide", action="store_true", help="whole messages, and the executions still running (Step Functions) first")
    st = command(
        "status",
        "per customer: ECS running/desired (and open maintenance windows), RDS, open incidents, mode, pending approvals",
        customer=False,
    )
    st.add_argument("--all", action="store_true", help="every customer in customers/, each with its own credentials")
    m = command("mode", "show or set the customer's mode switch")
    m.add_argument("value", nargs="?", choices=MODES)
    _fleet_commands(command)
    au = command("audit", "the audit trail: verify checks its hash chain (exit 1 naming the first broken row)")
    au.add_argument("action", choices=["verify"])
    return parser


def _fleet_commands(command: Any) -> None:
    """incident, incidents and health-check (operators/incidents.py)."""
    i = command("incident", "an incident's whole record: alarm or event, admit, pages, runbooks, approvals, resolve")
    i.add_argument("incident_id", metavar="ID", help="the incident's id (status and incidents list them)")
    i.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default=None,
        help="text (the timeline), markdown (a post-incident review's skeleton) or json (default: as --output)",
    )
    o = command("incidents", "the open incidents of a customer, or of every customer (--all)", customer=False)
    o.add_argument("--all", action="store_true", help="every customer in customers/, each with its own credentials")
    hc = command("health-check", "start each customer's health-check runbook, wait, and print one table", customer=False)
    hc.add_argument("--all", action="store_true", help="every customer in customers/, each with its own credentials")
    hc.add_argument("--reason", default="health check of the fleet (cli.py health-check)", help="the runbook's reason")


# --- the commands --------------------------------------------------------------------------------
class Cli:
    def __init__(
        self,
        args: argparse.Namespace,
        clients: Clients | None,
        clients_for: ClientsFor | None,
        session: Any,
        out: TextIO,
        err: TextIO,
        poll_seconds: float,
    ):
        self.args, self.out, self.err, self.poll_seconds = args, out, err, poll_seconds
        self._clients, self._clients_for, self._session = clients, clients_for, session
        self.config: Any = None  # the customer being worked on, for error messages
        self._made: dict[str, AccountClients] = {}
        self.json = getattr(args, "output", "text") == "json"

    def clients_of(self, config: Any) -> AccountClients:
        """The customer's clients: made once per customer and command, and checked (sts:GetCallerIdentity) to be
        of the customer's account before any other call."""
        if config.customer not in self._made:
            profile = getattr(self.args, "profile", None)
            made: Any
            if self._clients is not None:
                made, source = self._clients, "the clients given to the CLI"
            elif self._clients_for is not None:
                made, source = self._clients_for(config, profile), "the clients given to the CLI"
            elif self._session is not None:
                session = self._session
                made, source = (
                    lambda service: session.client(service, region_name=config.region),
                    "the session given to the CLI",
                )
            else:
                made, source = profile_clients(config, profile), ""
            self._made[config.customer] = (
                made
                if isinstance(made, AccountClients)
                else AccountClients(made, config, getattr(made, "source", source), getattr(made, "profile", profile))
            )
        return self._made[config.customer]

    def explain(self, exc: Exception, config: Any) -> CliError | None:
        """An AWS error of the customer's calls, in the operator's words (None: not one the CLI knows)."""
        made = self._made.get(config.customer) if config is not None else None
        profile = getattr(self.args, "profile", None)
        if made is not None:
            return explain(exc, config, made.source, made.profile)
        who = profile or (config.aws_profile if config is not None else None)
        return explain(exc, config, f"profile {who!r}" if who else "the default credential chain", who)

    def customer(self, name: str | None, what: str = "") -> Any:
        if not name:
            raise UsageError(f"give the customer with -c{what} (known: {', '.join(known_customers())})")
        self.config = load_customer(name)
        return self.config

    def say(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def emit(self, result: Any) -> None:
        print(as_json(result), file=self.out)

    def rows(self, rows: list[dict[str, Any]], text: str) -> None:
        """A table's result: the rows as JSON (--output json), else ``text``."""
        print(as_json(rows) if self.json else text, file=self.out)

    # runbooks / list
    def runbooks(self) -> int:
        if self.json:
            self.emit(
                [
                    {
                        "name": rb.name,
                        "title": rb.title,
                        "approval": bool(rb.approval),
                        "fields": input_fields(rb.name),
                        "common_fields": list(COMMON_FIELDS),
                        "example_input": rb.example_input,
                        "guard_rails": list(rb.guard_rails),
                    }
                    for rb in every_runbook()
                ]
            )
            return 0
        for rb in every_runbook():
            print(f"{rb.name}: {rb.title}" + ("  [needs approval]" if rb.approval else ""), file=self.out)
            fields = input_fields(rb.name)
            rows = [[f["name"], f["type"], "required" if f["required"] else "optional", f["description"]] for f in fields]
            print(
                "\n".join("    " + line for line in table(rows, ["field", "type", "", "description"]).splitlines()), file=self.out
            )
            print(f"  example input: {json.dumps(rb.example_input)}", file=self.out)
            for rail in rb.guard_rails:
                print(f"  - {rail}", file=self.out)
            print(file=self.out)
        print(f"Every runbook also takes: {', '.join(COMMON_FIELDS)} (start --dry-run sets dry_run).", file=self.out)
        return 0

    # start
    def start(self) -> int:
        a = self.args
        if a.runbook not in runbook_names():
            validate(a.runbook, {})  # the unknown-runbook error, before anything else
        config = self.customer(a.customer)
        payload = read_input(a.input) if a.input is not None else {}
        if not isinstance(payload, dict):
            validate(a.runbook, payload)
        payload = {**payload, **parse_assignments(a.assignments)}
        if a.dry_run:
            payload["dry_run"] = True
        validate(a.runbook, payload, config)
        sfn = self.clients_of(config)("stepfunctions")
        name = execution_name(time.gmtime(), secrets.token_hex(4))
        if declared(a.runbook).approval:  # who starts it, proven: they cannot approve their own request
            payload[proofs.REQUESTER_KEY] = sign(
                self.clients_of(config)("sts"),
                config.region,
                proofs.request_purpose(config.customer, naming.state_machine_name(config.customer, a.runbook), name),
            )
        arn = sfn.start_execution(stateMachineArn=_state_machine_arn(config, a.runbook), input=json.dumps(payload), name=name)[
            "executionArn"
        ]
        self.say(f"started {arn}\nconsole: {console_url(arn, config.region)}")
        if a.no_wait:
            self.emit({"executionArn": arn, "status": "RUNNING", "console": console_url(arn, config.region)})
            return 0
        return self._follow(self.clients_of(config), config, arn, _timeout_minutes(config, a.runbook))

    def _follow(self, clients: Clients, config: Any, arn: str, timeout_minutes: int) -> int:
        result = watching.watch(
            clients("stepfunctions"), arn, self.err, poll_seconds=self.poll_seconds, deadline_seconds=timeout_minutes * 60 + 60
        )
        if result["status"] == watching.WAITING:
            execution = arn.rsplit(":", 1)[1]
            summary = self._pending_summary(clients, config, execution)
            if summary:
                result["approval_summary"] = summary
                self.say(f"asks for approval of: {summary}")
            self.say(
                f"waiting for an answer in {result['waiting_in']}: nothing is changed until someone answers.\n"
                f'  approve: {PROG} approve {execution} -c {config.customer} --comment "..."\n'
                f'  reject:  {PROG} reject {execution} -c {config.customer} --comment "..."\n'
                f"  then follow it: {PROG} watch {arn}"
            )
        else:
            self.say(watching.summary(result))
        self.emit(result)
        return 0 if result["status"] in ("SUCCEEDED", "RUNNING", watching.WAITING) else 1

    # watch
    def watch(self) -> int:
        a = self.args
        customer, workflow, arn = _parse_execution(a.execution, a.customer, a.runbook)
        config = self.customer(customer, " (or give the execution's ARN)")
        if arn is None:
            if not workflow:
                raise UsageError("give the workflow with --runbook (or the execution's ARN)")
            arn = naming.execution_arn(config.customer, config.region, config.account, workflow, a.execution)
        timeout = _timeout_minutes(config, workflow)
        sfn = self.clients_of(config)("stepfunctions")
        try:
            sfn.describe_execution(executionArn=arn)
        except ClientError as exc:
            if error_code(exc) != "ExecutionDoesNotExist":
                raise
            machine = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
            sfn.describe_state_machine(stateMachineArn=machine)  # StateMachineDoesNotExist: not deployed
            raise CliError(
                f"no execution {arn.rsplit(':', 1)[1]!r} of {machine.rsplit(':', 1)[1]}: "
                f"`{PROG} history -c {config.customer}` lists the recent ones"
            ) from None
        return self._follow(self.clients_of(config), config, arn, timeout)

    def _pending_summary(self, clients: Clients, config: Any, execution: str) -> str:
        """What the pending approval asks for. The approval function records it just after the token is out: give
        it a moment (a wait for a maintenance window's "done" may record nothing)."""
        deadline = time.monotonic() + PENDING_GRACE_SECONDS
        while True:
            mine = [p for p in approvals.pending(clients, config) if p["execution"] == execution]
            if mine or time.monotonic() > deadline:
                return str(mine[0]["summary"]) if mine else ""
            time.sleep(min(self.poll_seconds, 1.0))

    # approve / reject / pending
    def answer(self, approve: bool) -> int:
        a = self.args
        customer, _, _ = _parse_execution(a.execution, a.customer, None)
        config = self.customer(customer, " (or give the execution's ARN)")
        clients = self.clients_of(config)
        by = str(clients.caller()["Arn"])  # the account check's identity; the answer function verifies it itself
        result = approvals.answer(clients, config, a.execution, approve=approve, comment=a.comment)
        if result.get("answer") == "recorded":
            self.say(
                f"approval of {a.execution} recorded as {by}: {result.get('approvals')} of "
                f"{result.get('needed')} named approvers so far"
            )
        else:
            self.say(f"{'approved' if approve else 'rejected'} {a.execution} as {by}")
        self.emit({**result, "at": short_time(result.get("at")), "requested": short_time(result.get("requested"))})
        return 0

    def pending(self) -> int:
        config = self.customer(self.args.customer)
        items = [
            {**p, "requested": short_time(p.get("requested")), "expires": short_time(p.get("expires"))}
            for p in approvals.pending(self.clients_of(config), config)
        ]
        rows = [
            [
                str(p.get("execution", "")),
                str(p.get("runbook", "")),
                p["requested"],
                p["expires"],
                short(str(p.get("summary", "")), 100),
            ]
            for p in items
        ]
        self.rows(
            items,
            table(rows, ["execution", "runbook", "requested", "expires", "summary"])
            if rows
            else f"no pending approvals for {config.customer}",
        )
        return 0

    # history
    def history(self) -> int:
        a = self.args
        config = self.customer(a.customer)
        if a.runbook and a.runbook not in runbook_names():
            validate(a.runbook, {})
        if a.limit < 1:
            raise UsageError(f"--limit must be at least 1, got {a.limit}")
        clients = self.clients_of(config)
        rows = reads.history(clients, config, limit=a.limit, runbook=a.runbook)
        if a.wide:  # the running ones first (they have no audit row yet), then the finished ones
            done = {r["execution"] for r in rows}
            rows = [r for r in reads.running(clients, config, runbook=a.runbook) if r["execution"] not in done] + rows
        rows = [{**r, "time": short_time(r["time"])} for r in rows]
        cells = [
            [
                r["time"],
                r["runbook"],
                r["execution"],
                r["outcome"],
                " ".join(str(r["message"]).split()) if a.wide else short(r["message"]),
            ]
            for r in rows
        ]
        self.rows(
            rows,
            table(cells, ["time", "runbook", "execution", "outcome", "message"])
            if rows
            else f"no runbook executions in the audit table of {config.customer}" + (" and none running" if a.wide else ""),
        )
        return 0

    # audit verify
    def audit(self) -> int:
        config = self.customer(self.args.customer)
        rows, head = reads.audit_chain_of(self.clients_of(config), config)
        verdict = audit_chain.verify(rows, head)
        broken = verdict.broken
        if self.json:
            self.emit(
                {
                    "customer": config.customer,
                    "rows": verdict.rows,
                    "intact": verdict.intact,
                    "broken": None
                    if broken is None
                    else {"pk": broken.pk, "sk": broken.sk, "time": broken.time, "problem": broken.problem},
                }
            )
        elif broken is None:
            print(f"audit trail of {config.customer}: {verdict.rows} rows, the chain is intact", file=self.out)
        else:
            print(
                f"audit trail of {config.customer}: the chain is broken at {broken.describe()} ({verdict.rows} rows read)",
                file=self.out,
            )
        return 0 if broken is None else 1

    # status
    def status(self) -> int:
        a = self.args
        if a.all == bool(a.customer):
            raise UsageError("give either -c CUSTOMER or --all")
        configs = load_all() if a.all else [self.customer(a.customer)]
        if a.all and self._fleet_status(configs):
            return 0
        rows, found, code = [], [], 0
        for config in configs:
            self.config = config
            where = {"customer": config.customer, "account": config.account, "region": config.region}
            try:
                s = reads.status(self.clients_of(config), config)
            except Exception as exc:  # one customer's error (another account's credentials too) is its row
                problem = exc if isinstance(exc, CliError) else self.explain(exc, config)
                if problem is None:
                    raise
                code = max(code, problem.exit_code)
                rows.append([config.customer, f"{config.account}/{config.region}", f"error: {problem}"])
                found.append({**where, "error": str(problem)})
                continue
            for i in s["open_incidents"]:
                i["opened"] = short_time(i["opened"])
            for p in s["approvals"]:
                p["requested"], p["expires"] = short_time(p["requested"]), short_time(p["expires"])
            for e in s["ecs"]:
                if "window" in e:
                    e["window"] = {k: short_time(v) if k != "execution" else v for k, v in e["window"].items()}
            found.append({**where, **s})
            ecs = ", ".join(_ecs_cell(e) for e in s["ecs"])
            incidents = ", ".join(i["alarm"] for i in s["open_incidents"]) or "none"
            pending = ", ".join(s["pending_approvals"]) or "none"
            rows.append(
                [
                    config.customer,
                    f"{config.account}/{config.region}",
                    s["mode"],
                    ecs,
                    s["rds"],
                    f"{len(s['open_incidents'])}: {incidents}" if s["open_incidents"] else "none",
                    f"{len(s['pending_approvals'])}: {pending}" if s["pending_approvals"] else "none",
                ]
            )
        header = ["customer", "account/region", "mode", "ECS running/desired", "RDS", "open incidents", "pending approvals"]
        self.rows(found, table(rows, header))
        return code

    def _fleet_status(self, configs: list[Any]) -> bool:
        """`status --all` from the ops account's fleet table, in one call, when the ops stack is deployed and its
        credentials work (profile lecture-ops); False: it is not (the per-customer loop runs, as before)."""
        if not has_ops():
            return False
        try:
            ops = load_ops()
            found = fleet_status(self.clients_of(ops), configs)
        except Exception as exc:  # noqa: BLE001 - no ops stack, table or credentials: each customer's own account instead
            reason = next(iter(str(exc).splitlines()), "") or type(exc).__name__
            self.say(f"not from the ops account's fleet table ({reason}): from each customer's own account")
            return False
        rows = [
            [
                f["customer"],
                f"{f['account']}/{f['region']}",
                f["mode"],
                f"{len(f['open_incidents'])}: {', '.join(f['open_incidents'])}" if f["open_incidents"] else "none",
                f"{f['last_outcome']} ({f['last_incident']})" if f["last_outcome"] else "none",
                f"yes, last heard {short_time(f['last_heard'])}" if f["reachable"] else "no: never reported to the ops account",
            ]
            for f in found
        ]
        header = ["customer", "account/region", "mode", "open incidents", "last runbook outcome", "reachable"]
        self.rows(
            found,
            f"from the ops account's fleet table ({naming.ops_table_name()}, {ops.account}/{ops.region})\n" + table(rows, header),
        )
        return True

    # mode
    def mode(self) -> int:
        config = self.customer(self.args.customer)
        ssm = self.clients_of(config)("ssm")
        name = naming.mode_parameter_name(config.customer)
        if self.args.value:
            ssm.put_parameter(Name=name, Value=self.args.value, Type="String", Overwrite=True)
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        if self.json:
            self.emit({"customer": config.customer, "parameter": name, "mode": value})
        else:
            print(value, file=self.out)
        return 0


class FleetCli(Cli):
    """The commands across customers and about one incident (operators/incidents.py)."""

    def _configs(self) -> list[Any]:
        a = self.args
        if a.all == bool(a.customer):
            raise UsageError("give either -c CUSTOMER or --all")
        return load_all() if a.all else [self.customer(a.customer)]

    def _problem(self, exc: Exception, config: Any) -> CliError:
        problem = exc if isinstance(exc, CliError) else self.explain(exc, config)
        if problem is None:
            raise exc
        return problem

    def incident(self) -> int:
        a = self.args
        config = self.customer(a.customer)
        rec = incidents.record(self.clients_of(config), config, a.incident_id)
        fmt = a.format or ("json" if self.json else "text")
        rendered = {"text": incidents.text, "markdown": incidents.markdown, "json": incidents.as_json}[fmt](rec)
        print(rendered, file=self.out)
        return 0

    def incidents(self) -> int:
        found, cells, code = [], [], 0
        for config in self._configs():
            self.config = config
            try:
                rows = incidents.open_incidents(self.clients_of(config), config)
            except Exception as exc:  # noqa: BLE001 - one customer unreachable is its row; _problem re-raises others
                problem = self._problem(exc, config)
                code = max(code, problem.exit_code)
                found.append({"customer": config.customer, "error": str(problem)})
                cells.append([config.customer, "", "", "", "", f"error: {problem}"])
                continue
            for r in rows:
                found.append({**r, "opened": short_time(r["opened"])})
                cells.append([config.customer, r["incident"], r["severity"], short_time(r["opened"]), r["opened_by"], r["alarm"]])
            if not rows:
                cells.append([config.customer, "none", "", "", "", ""])
        self.rows(found, table(cells, ["customer", "incident", "severity", "opened", "opened by", "alarm"]))
        return code

    def health_check(self) -> int:
        """Start every customer's health-check at once, then wait for each; one row per check."""
        started, found, cells, code = [], [], [], 0
        for config in self._configs():
            self.config = config
            try:
                payload = validate("health-check", {"cluster": config.rds.cluster, "reason": self.args.reason}, config)
                name = naming.execution_name(f"fleet-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}")
                sfn = self.clients_of(config)("stepfunctions")
                arn = sfn.start_execution(
                    stateMachineArn=_state_machine_arn(config, "health-check"), input=json.dumps(payload), name=name
                )["executionArn"]
                started.append((config, arn))
            except Exception as exc:  # noqa: BLE001 - a row; _problem re-raises what is no AWS error
                problem = self._problem(exc, config)
                code = max(code, problem.exit_code)
                found.append({"customer": config.customer, "error": str(problem)})
                cells.append([config.customer, "unreachable", "", f"error: {problem}"])
        for config, arn in started:
            self.config = config
            try:
                result = watching.watch(
                    self.clients_of(config)("stepfunctions"),
                    arn,
                    self.err,
                    poll_seconds=self.poll_seconds,
                    deadline_seconds=_timeout_minutes(config, "health-check") * 60 + 60,
                )
            except Exception as exc:  # noqa: BLE001 - a row; _problem re-raises what is no AWS error
                problem = self._problem(exc, config)
                code = max(code, problem.exit_code)
                found.append({"customer": config.customer, "error": str(problem)})
                cells.append([config.customer, "unreachable", "", f"error: {problem}"])
                continue
            output = result.get("output") if isinstance(result.get("output"), dict) else {}
            checks = output.get("checks") or []
            outcome = str(output.get("outcome") or result["status"])
            if result["status"] != "SUCCEEDED" or outcome != "healthy":
                code = max(code, 1)
            found.append(
                {"customer": config.customer, "execution": arn, "status": result["status"], "outcome": outcome, "checks": checks}
            )
            if not checks:
                cells.append([config.customer, outcome, "", str(result.get("error") or output.get("message") or "")])
            for c in checks:
                cells.append(
                    [
                        config.customer,
                        outcome,
                        f"{c.get('status', '?').upper()} {c.get('name', '')}",
                        short(str(c.get("detail", "")), 100),
                    ]
                )
        self.rows(found, table(cells, ["customer", "outcome", "check", "detail"]))
        return code


def _ecs_cell(e: dict[str, Any]) -> str:
    """A service's running/desired; an open maintenance window says so (0/0 at 3 a.m. in a window is no outage)."""
    if "problem" in e:
        return f"{e['service']} {e['problem']}"
    cell = f"{e['service']} {e['running']}/{e['desired']}"
    if "window" in e:
        window = e["window"]
        cell += f" (maintenance window until {window.get('expires') or '?'}, execution {window.get('execution') or '?'})"
    return cell


def execution_name(at: time.struct_time, nonce: str) -> str:
    """A by-hand run's name: when it was started (to the second) and a random part, so two starts in the same second
    differ. Not who started it: the local OS user name proves nothing; the verified caller is what counts (the
    requester's proof in the input, operators/identity.py, and the answer function's record of who approved)."""
    return naming.execution_name(f"manual-{time.strftime('%Y%m%dT%H%M%SZ', at)}-{nonce}")


def _timeout_minutes(config: Any, workflow: str) -> int:
    """How long an execution of the workflow may run: the runbook's timeout, plus the approval's (and a booking's)."""
    if workflow not in runbook_names():
        return 60
    return declared(workflow).timeout_minutes_for(config)


def _state_machine_arn(config: Any, workflow: str) -> str:
    return f"arn:aws:states:{config.region}:{config.account}:stateMachine:{naming.state_machine_name(config.customer, workflow)}"


def _parse_execution(execution: str, customer: str | None, workflow: str | None) -> tuple[str | None, str | None, str | None]:
    """(customer, workflow, ARN or None) from an execution ARN arn:aws:states:<r>:<a>:execution:lecture-<c>-<w>:<n>
    or a name (then -c and --runbook say the rest)."""
    if not execution.startswith("arn:"):
        return customer, workflow, None
    parts = execution.split(":")
    if len(parts) != 8 or parts[2] != "states" or parts[5] != "execution":
        raise UsageError(
            f"not a Step Functions execution ARN: {execution!r} "
            "(arn:aws:states:<region>:<account>:execution:<state machine>:<name>)"
        )
    machine = parts[6]
    for c in sorted(known_customers(), key=len, reverse=True):
        prefix = naming.state_machine_name(c, "")
        if machine.startswith(prefix) and (customer is None or customer == c):
            return c, machine.removeprefix(prefix), execution
    raise UsageError(
        f"state machine {machine!r} of {execution!r} is not one of "
        f"{'customer ' + customer if customer else 'the known customers'} "
        f"({', '.join(known_customers())})"
    )


def main(
    argv: list[str] | None = None,
    clients: Clients | None = None,
    *,
    clients_for: ClientsFor | None = None,
    session: Any = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    poll_seconds: float = 2.0,
) -> int:
    """Run one command. ``clients`` (service -> boto3 client) replaces every customer's profile (a sandbox);
    ``clients_for(config, profile)`` makes one per customer; ``session`` is a boto3 Session for every customer."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        # start's key=value pairs may come after its options (start RUNBOOK -c C a=1 b=2): argparse leaves them over
        args, extra = parser.parse_known_args(argv)
        if extra and args.command == "start" and not any(e.startswith("-") for e in extra):
            args.assignments += extra
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse has printed the usage error
        return int(exc.code or 0)
    cli = FleetCli(args, clients, clients_for, session, out, err, poll_seconds)
    command = {
        "runbooks": cli.runbooks,
        "list": cli.runbooks,
        "start": cli.start,
        "watch": cli.watch,
        "approve": lambda: cli.answer(True),
        "reject": lambda: cli.answer(False),
        "pending": cli.pending,
        "history": cli.history,
        "status": cli.status,
        "mode": cli.mode,
        "incident": cli.incident,
        "incidents": cli.incidents,
        "health-check": cli.health_check,
        "audit": cli.audit,
    }[args.command]
    try:
        return command()
    except CustomerConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except CliError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    except approvals.ApprovalError as exc:
        print(f"error: {exc}", file=err)
        return 1
    except Exception as exc:
        problem = cli.explain(exc, cli.config) if is_aws_error(exc) else None
        if problem is None:
            raise
        print(f"error: {problem}", file=err)
        return problem.exit_code
