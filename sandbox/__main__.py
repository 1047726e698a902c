"""python -m sandbox demo | run SCENARIO [--json] [--logs]

run exits 0 (ran, expectations met), 1 (invalid scenario), 2 (synthesis failed), 3 (expectations not met)."""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sandbox import quiet

quiet.install()

from customers import CustomerConfigError, load_customer  # noqa: E402
from sandbox import scenario as scenarios  # noqa: E402
from sandbox.engine import Sandbox  # noqa: E402
from sandbox.synth import SynthError, synthesize  # noqa: E402

DEMO_ALARM = "lecture-dhbw-lecture-backend-service-cpu-high"
DEMO_DATA_PROTECTION = Path(__file__).resolve().parent.parent / "scenarios" / "backup-and-snapshot.json"


def demo() -> int:
    with tempfile.TemporaryDirectory(prefix="sandbox-demo-") as tmp:
        print("1. Synthesizing the CDK app (all customers, cdk-nag checks included) ...", flush=True)
        assembly = synthesize(Path(tmp) / "cdk.out")
        stacks = sorted(p.name.removesuffix(".template.json") for p in assembly.glob("*.template.json"))
        print(f"   synthesized: {', '.join(stacks)}")
        print("2. Deploying lecture-dhbw-remediation into the offline AWS (moto) ...", flush=True)
        world = scenarios.World.model_validate({"ecs": {"lecture-backend-service": {"desired": 2}}})
        with Sandbox("dhbw", assembly=assembly, workdir=Path(tmp), world=world) as sb:
            print("3. Simulated environment: ECS cluster lecture-dhbw-cluster, "
                  f"service lecture-backend-service {sb.world_snapshot()['ecs']['lecture-backend-service']}")
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
    print(f"  AWS changes: {len(report['actions'])}  " + "; ".join(
        f"{a['service']} {a['operation']}" + (f" {a['params']}" if with_params else "") for a in report["actions"]))
    print("  PagerDuty: " + ", ".join(f"{p.get('kind')} {p.get('http_status')} ({p.get('dedup_key') or p.get('team')})"
                                      for p in report["pages"]))
    print(f"  Status updates (SNS): {len(report['notifications'])}")


def data_protection_demo(assembly: Path, workdir: Path) -> int:
    """The second game day: the schedules (snapshot, state backup, lock check) and an RDS alarm."""
    scenario = scenarios.load(DEMO_DATA_PROTECTION)
    print(f"\n6. Data protection game day ({DEMO_DATA_PROTECTION.relative_to(DEMO_DATA_PROTECTION.parent.parent)}): "
          "daily snapshot, state backup delivered twice, stale-lock check, an RDS alarm then OK", flush=True)
    with Sandbox(scenario.customer, assembly=assembly, workdir=workdir, mode=scenario.mode,
                 world=scenario.world) as sb:
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
        config = load_customer(scenario.customer)
        scenarios.check_against(scenario, config)
    except (scenarios.ScenarioError, CustomerConfigError) as exc:
        print(f"invalid scenario: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="sandbox-run-") as tmp:
        assembly = synthesize(Path(tmp) / "cdk.out", scenario.customer)
        try:
            with Sandbox(scenario.customer, assembly=assembly, workdir=Path(tmp), mode=scenario.mode,
                         world=scenario.world) as sb:
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
        print(f"\nexecutions: {len(report['executions'])}, AWS changes: {len(report['actions'])}, "
              f"pages: {len(report['pages'])}, status updates: {len(report['notifications'])}")
    if unmet:
        print(f"expectations not met ({path}):\n" + "\n".join(f"  - {p}" for p in unmet), file=sys.stderr)
        return 3
    if scenario.expect is not None:
        print("expectations met", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="The offline AWS sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="synthesize, deploy dhbw, fire CPU high then OK, then the data-protection "
                                "game day; print the timelines")
    run_p = sub.add_parser("run", help="run a scenario file (JSON or YAML)")
    run_p.add_argument("scenario")
    run_p.add_argument("--json", action="store_true", help="print the report as JSON")
    run_p.add_argument("--logs", action="store_true", help="print the Lambda handlers' logs to stderr")
    args = parser.parse_args(argv)
    try:
        return demo() if args.command == "demo" else run(args.scenario, args.json, args.logs)
    except SynthError as exc:
        print(str(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
