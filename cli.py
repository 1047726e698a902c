#!/usr/bin/env python3
"""Operators' CLI: start a runbook by hand, or read / set the mode switch, in a customer's account.

  python cli.py list
  python cli.py start scale-ecs-service -c dhbw --input '{"service": "lecture-backend-service", "delta": 1}'
  python cli.py mode -c dhbw [enforce|dry-run|off]

The input is validated with the runbook's own model before anything is sent to AWS. The AWS profile
is the runbook's lecture-<customer>-prod unless --profile says otherwise.
"""

import argparse
import getpass
import json
import sys
import time

from pydantic import ValidationError

from catalog import KINDS, RUNBOOKS, naming
from catalog.customer import MODES
from catalog.validation import describe
from customers import CustomerConfigError, load_customer

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class UsageError(Exception):
    pass


def validate(runbook: str, payload, config=None) -> dict:
    if runbook not in RUNBOOKS:
        raise UsageError(f"unknown runbook {runbook!r}; known: {', '.join(RUNBOOKS)}")
    rb = RUNBOOKS[runbook]
    if not isinstance(payload, dict):
        raise UsageError(f"input must be a JSON object like {json.dumps(rb.example_input)}")
    try:
        rb.input_model.model_validate(payload)
    except ValidationError as exc:
        raise UsageError(describe(exc, f"invalid {runbook} input") + f" (example: {json.dumps(rb.example_input)})") from None
    kind = KINDS[rb.target_kind]  # the input names one instance of the runbook's target kind
    target = payload.get(kind.target_field)
    if config is not None and target is not None and target not in kind.instances(config):
        raise UsageError(f"{kind.target_field} {target!r} is not configured for customer {config.customer} "
                         f"(configured: {', '.join(kind.instances(config))})")
    return payload


def state_machine_arn(config, workflow: str) -> str:
    return (f"arn:aws:states:{config.region}:{config.account}:stateMachine:"
            f"{naming.state_machine_name(config.customer, workflow)}")


def start(session, config, runbook: str, payload: dict, *, wait: bool = True) -> dict:
    sfn = session.client("stepfunctions", region_name=config.region)
    # Named so the console and the audit trail (audit#<execution name>) say who started it, and when.
    name = naming.execution_name(f"manual-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{getpass.getuser()}")
    arn = sfn.start_execution(stateMachineArn=state_machine_arn(config, runbook), input=json.dumps(payload),
                              name=name)["executionArn"]
    if not wait:
        return {"executionArn": arn, "status": "RUNNING"}
    # As long as the runbook itself may run, plus a margin: never report a running execution as done.
    deadline = time.monotonic() + RUNBOOKS[runbook].timeout_minutes * 60 + 60
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] in TERMINAL or time.monotonic() > deadline:
            out = {"executionArn": arn, "status": d["status"]}
            if d.get("output"):
                out["output"] = json.loads(d["output"])
            if d.get("error"):
                out["error"], out["cause"] = d["error"], d.get("cause")
            return out
        time.sleep(1)


def mode(session, config, value: str | None) -> str:
    ssm = session.client("ssm", region_name=config.region)
    name = naming.mode_parameter_name(config.customer)
    if value:
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return ssm.get_parameter(Name=name)["Parameter"]["Value"]


def _session(config, profile: str | None):
    import boto3

    return boto3.Session(profile_name=profile or config.aws_profile)


def main(argv=None, session=None) -> int:
    parser = argparse.ArgumentParser(prog="python cli.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="runbooks, with an example input each")
    s = sub.add_parser("start", help="start a runbook and wait for its outcome")
    s.add_argument("runbook")
    s.add_argument("-c", "--customer", required=True)
    s.add_argument("--input", required=True, help="JSON object, e.g. '{\"service\": \"lecture-backend-service\", \"delta\": 1}'")
    s.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
    s.add_argument("--no-wait", action="store_true")
    s.add_argument("--profile")
    m = sub.add_parser("mode", help="show or set the customer's mode switch")
    m.add_argument("-c", "--customer", required=True)
    m.add_argument("value", nargs="?", choices=MODES)
    m.add_argument("--profile")
    args = parser.parse_args(argv)

    if args.command == "list":
        for rb in RUNBOOKS.values():
            print(f"{rb.name}: {rb.title}\n  example input: {json.dumps(rb.example_input)}")
            for rail in rb.guard_rails:
                print(f"  - {rail}")
        return 0
    try:
        config = load_customer(args.customer)
        if args.command == "start":
            try:
                payload = json.loads(args.input)
            except ValueError as exc:
                raise UsageError(f"--input is not valid JSON: {exc}") from None
            if args.dry_run and isinstance(payload, dict):
                payload["dry_run"] = True
            validate(args.runbook, payload, config)
            result = start(session or _session(config, args.profile), config, args.runbook, payload,
                           wait=not args.no_wait)
            print(json.dumps(result, indent=2, default=str))
            return 0 if result["status"] == "SUCCEEDED" or (args.no_wait and result["status"] == "RUNNING") else 1
        print(mode(session or _session(config, args.profile), config, args.value))
        return 0
    except (UsageError, CustomerConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
