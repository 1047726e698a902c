"""python -m sandbox demo | run SCENARIO [--json] [--logs] | cli [--customer C | --scenario FILE] -- CLI ARGS [-- ...]
                 | serve [--port N] [--deploy all|C,C] [--world FILE]

run exits 0 (ran, expectations met), 1 (invalid scenario), 2 (synthesis failed), 3 (expectations not met).
cli exits with the highest exit code of its commands (1 for an invalid scenario, 2 when synthesis failed)."""

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

from sandbox import quiet

quiet.install()

from customers import CustomerConfigError, load_customer  # noqa: E402
from sandbox import scenario as scenarios  # noqa: E402
from sandbox.engine import Sandbox  # noqa: E402
from sandbox.synth import SynthError, synthesized  # noqa: E402

DEMO_ALARM = "lecture-dhbw-lecture-backend-service-cpu-high"
DEMO_DATA_PROTECTION = Path(__file__).resolve().parent.parent / "scenarios" / "backup-and-snapshot.json"


def demo() -> int:
    with tempfile.TemporaryDirectory(prefix="sandbox-demo-") as tmp:
        print(
            "1. Synthesizing the CDK app (all customers, cdk-nag checks included; kept in .sandbox/synth until "
            "the sources change) ...",
            flush=True,
        )
        assembly = synthesized()
        stacks = sorted(p.name.removesuffix(".template.json") for p in assembly.glob("*.template.json"))
        print(f"   synthesized: {', '.join(stacks)}")
        print("2. Deploying lecture-dhbw-remediation into the offline AWS (moto) ...", flush=True)
        world = scenarios.World.model_validate({"ecs": {"lecture-backend-service": {"desired": 2}}})
        with Sandbox("dhbw", assembly=assembly, workdir=Path(tmp), world=world) as sb:
            print(
                "3. Simulated environment: ECS cluster lecture-dhbw-cluster, "
                f"service lecture-backend-service {sb.world_snapshot()['ecs']['lecture-backend-service']}"
            )
            print(f"4. Firing {DEMO_ALARM} -> ALARM", flush=True)
            sb.fire_alarm(DEMO_ALARM, "ALARM")
            print(f"5. Firing {DEMO_ALARM} -> OK", flush=True)
            sb.fire_alarm(DEMO_ALARM, "OK")
            print("\nTimeline\n--------")
            print(sb.timeline.render())
            report = sb.report()
        summary(report, with_params=True)
        print(f"  World after: {report['world']['ecs']}")
        return data_protection_demo(assembly, Path(tmp))


def summary(report: dict, *, with_params: bool) -> None:
    print("\nSummary\n-------")
    for e in report["executions"]:
        out = e["output"] or {}
        print(f"  {e['state_machine']:<36} {e['status']:<9} {out.get('outcome') or out.get('decision') or ''}")
    print(
        f"  AWS changes: {len(report['actions'])}  "
        + "; ".join(f"{a['service']} {a['operation']}" + (f" {a['params']}" if with_params else "") for a in report["actions"])
    )
    print(
        "  PagerDuty: "
        + ", ".join(f"{p.get('kind')} {p.get('http_status')} ({p.get('dedup_key') or p.get('team')})" for p in report["pages"])
    )
    print(f"  Status updates (SNS): {len(report['notifications'])}")


def data_protection_demo(assembly: Path, workdir: Path) -> int:
    """The second game day: the schedules (snapshot, state backup, lock check) and an RDS alarm."""
    scenario = scenarios.load(DEMO_DATA_PROTECTION)
    print(
        f"\n6. Data protection game day ({DEMO_DATA_PROTECTION.relative_to(DEMO_DATA_PROTECTION.parent.parent)}): "
        "daily snapshot, state backup delivered twice, stale-lock check, an RDS alarm then OK",
        flush=True,
    )
    with Sandbox(scenario.customer, assembly=assembly, workdir=workdir, mode=scenario.mode, world=scenario.world) as sb:
        report = scenarios.run_steps(scenario, sb)
        print("\nTimeline\n--------")
        print(sb.timeline.render())
    unmet = scenarios.check_expectations(scenario, report)
    summary(report, with_params=False)
    print(f"  Snapshots after: {[s['id'] for s in report['world']['rds']['lecture-dhbw-cluster']['snapshots']]}")
    print(f"  State backups after: {report['world']['state']['backups']}")
    if unmet:
        print("expectations not met:\n" + "\n".join(f"  - {p}" for p in unmet), file=sys.stderr)
        return 3
    return 0


def run(path: str, as_json: bool, logs: bool = False) -> int:
    try:
        scenario = scenarios.load(Path(path))
        configs = {c: load_customer(c) for c in scenario.fleet}
        scenarios.check_against(scenario, configs[scenario.customer], configs)
    except (scenarios.ScenarioError, CustomerConfigError) as exc:
        print(f"invalid scenario: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="sandbox-run-") as tmp:
        # the whole app's assembly (every customer's stack and the ops stack), the one `make demo` keeps too
        assembly = synthesized()
        try:
            with Sandbox(
                scenario.fleet,
                assembly=assembly,
                workdir=Path(tmp),
                mode=scenario.mode,
                worlds={c: scenario.world_of(c) for c in scenario.fleet},
                ops=bool(scenario.customers),
            ) as sb:
                report = scenarios.run_steps(scenario, sb)
                unmet = scenarios.check_expectations(scenario, report)
                timeline = sb.timeline.render()
                handler_logs = sb.lambdas.logs.getvalue()
        except scenarios.ScenarioError as exc:
            print(f"invalid scenario: {path}: {exc}", file=sys.stderr)
            return 1
    if logs:  # what the handlers logged (Powertools JSON, with correlation ids) and their EMF metrics
        print(handler_logs, file=sys.stderr)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(timeline)
        for customer, part in (report.get("customers") or {scenario.customer: report}).items():
            print(
                (f"\n[{customer}] " if scenario.customers else "\n")
                + f"executions: {len(part['executions'])}, AWS changes: {len(part['actions'])}, "
                f"pages: {len(part['pages'])}, status updates: {len(part['notifications'])}"
            )
        if "ops" in report:
            ops = report["ops"]
            print(
                f"[ops] correlations: {len(ops['correlations'])}, P0 pages: "
                + (", ".join(p["kind"] for p in ops["p0_pages"]) or "none")
                + (f", P0 {ops['p0'].get('p0_id')} {ops['p0'].get('state')}" if ops["p0"] else "")
            )
    if unmet:
        print(f"expectations not met ({path}):\n" + "\n".join(f"  - {p}" for p in unmet), file=sys.stderr)
        return 3
    if scenario.expect is not None:
        print("expectations met", file=sys.stderr)
    return 0


def cli(customer: str | None, scenario_path: str | None, commands: list[list[str]]) -> int:
    """The operators' CLI against a sandbox: deploy the customer (a scenario's world, its steps run first), then run
    each command with the sandbox's clients, as `python cli.py` would against the customer's account."""
    from operators.cli import main as cli_main

    if not commands or not all(commands):
        print("give the CLI's arguments after --, e.g. python -m sandbox cli -- status --all", file=sys.stderr)
        return 2
    try:
        scenario = scenarios.load(Path(scenario_path)) if scenario_path else None
        if scenario is not None:
            scenarios.check_against(scenario, load_customer(scenario.customer))
        customer = scenario.customer if scenario else (customer or "dhbw")
        load_customer(customer)
    except (scenarios.ScenarioError, CustomerConfigError) as exc:
        print(f"invalid scenario: {exc}" if scenario_path else f"error: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="sandbox-cli-") as tmp:
        assembly = synthesized()  # the whole app's, which holds this customer's stack
        with Sandbox(
            customer,
            assembly=assembly,
            workdir=Path(tmp),
            mode=scenario.mode if scenario else None,
            world=scenario.world if scenario else None,
        ) as sb:
            if scenario is not None:
                scenarios.run_steps(scenario, sb)
            codes = []
            for args in commands:
                print(f"$ python cli.py {shlex.join(args)}", flush=True)
                codes.append(cli_main(args, sb.client, poll_seconds=0.02))
                sys.stdout.flush()
                sb.wait_all()  # what a command started (a --no-wait start) runs on before the next command
    return max(codes)


def _split_cli_args(argv: list[str]) -> tuple[list[str], list[list[str]]]:
    """python -m sandbox cli [options] -- a b -- c d: (["cli", options...], [["a", "b"], ["c", "d"]])."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    commands: list[list[str]] = [[]]
    for arg in argv[cut + 1 :]:
        if arg == "--":
            commands.append([])
        else:
            commands[-1].append(arg)
    return argv[:cut], commands


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands: list[list[str]] = []
    if argv[:1] == ["cli"]:
        argv, commands = _split_cli_args(argv)
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="The offline AWS sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "demo", help="synthesize, deploy dhbw, fire CPU high then OK, then the data-protection game day; print the timelines"
    )
    run_p = sub.add_parser("run", help="run a scenario file (JSON or YAML)")
    run_p.add_argument("scenario")
    run_p.add_argument("--json", action="store_true", help="print the report as JSON")
    run_p.add_argument("--logs", action="store_true", help="print the Lambda handlers' logs to stderr")
    cli_p = sub.add_parser(
        "cli",
        help="run operators' CLI commands (python cli.py ...) against a sandbox",
        description="python -m sandbox cli [--customer C | --scenario FILE] -- CLI ARGS "
        "[-- CLI ARGS ...]: deploy the customer into a sandbox (a scenario's world, "
        "then its steps), then run each command against it.",
    )
    cli_p.add_argument("--customer", help="the customer to deploy (default: the scenario's, else dhbw)")
    cli_p.add_argument("--scenario", help="a scenario file: its world, mode and steps come first")
    from sandbox.serve import DEFAULT_PORT

    serve_p = sub.add_parser(
        "serve",
        help="a live offline AWS on 127.0.0.1 for the CDK CLI, the AWS CLI and "
        "python cli.py; every customer in its own account (make sandbox)",
    )
    serve_p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve_p.add_argument(
        "--deploy",
        help="all | C,C: deploy these customers' synthesized stacks at start (default: none; deploy them with npx cdk deploy)",
    )
    serve_p.add_argument(
        "--world", help="a scenario file (or {customer, mode, world}): that customer's world (default: each customer's file)"
    )
    serve_p.add_argument("--config-dir", default=".sandbox", help="where aws-config is written (default .sandbox)")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            from sandbox.serve import serve

            return serve(args.port, args.deploy, args.world, config_dir=Path(args.config_dir).resolve())
        if args.command == "cli":
            return cli(args.customer, args.scenario, commands)
        return demo() if args.command == "demo" else run(args.scenario, args.json, args.logs)
    except SynthError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
