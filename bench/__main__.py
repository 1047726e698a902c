"""Benchmarks (not timed tests): measured on a shared, noisy machine, so compare ratios from one run.

1. Sandbox: time from firing the CPU-high alarm to the scaling call (UpdateService), median of 20 runs.
2. Step Functions state transitions and Lambda invocations per ECS scale-out incident, from the
   execution histories; the cost per incident at list prices.
3. Cold import time of each handler module in a fresh interpreter, as a ratio to `import boto3` (wall time, and
   CPU time, which the other tenants' load disturbs less); beside them the libraries every function imports.
4. Size of the Lambda code asset.
5. Per data-protection run (an RDS snapshot on its schedule and on an RDS alarm, a Terraform state backup, a
   stale-lock check): state transitions and Lambda invocations, with the polling loop counted separately.

6. The live sandbox (bench/live.py): start-up with every customer deployed, memory, an operators' CLI command, and
   `aws cloudwatch set-alarm-state` to UpdateService through the endpoint.

7. Detection per "down" alarm kind (bench/detection.py): worst case from the synthesized template, alarm
   (Period x DatapointsToAlarm) or service event (an assumed delivery budget); goal <= 60 s.
8. The fleet (bench/fleet.py, issue 16): per incident event with 3 and with 30 simulated customers (transitions,
   invocations, DynamoDB calls: constant), and the second customer's down alarm to the P0 trigger.

9. Cold import in instructions (bench/instructions.py, valgrind's callgrind): 3. counted instead of timed, the same
   on a quiet and a loaded machine; not in the full run (about 5 minutes): `python -m bench cold-import-instructions`.

`python -m bench cold-import` measures 3. only, `python -m bench live` 6. only, `python -m bench detection` 7. only,
`python -m bench fleet` 8. only; each updates just its part of bench/results.json.
"""

import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import quiet  # noqa: E402

quiet.install()

from bench.detection import detection_figures, print_detection  # noqa: E402
from bench.fleet import fleet_figures, print_fleet  # noqa: E402
from bench.instructions import LIBRARIES, cold_import_instructions, print_cold_import_instructions  # noqa: E402
from bench.live import live_figures, print_live  # noqa: E402
from catalog import RUNBOOKS, naming  # noqa: E402
from sandbox.engine import Sandbox  # noqa: E402
from sandbox.synth import synthesize  # noqa: E402

RUNS = 20
ALARM = "lecture-dhbw-lecture-backend-service-cpu-high"
HANDLERS = [
    "lambdas.handlers.admit",
    "lambdas.handlers.page",
    "lambdas.handlers.record",
    "lambdas.handlers.approval",
    *(f"lambdas.runbooks.{naming.module_name(r)}" for r in RUNBOOKS),
]
# List prices (us-east-1 / eu-central-1 are the same for these): Standard workflows, Lambda x86.
PRICE_PER_TRANSITION = 0.025 / 1000
PRICE_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000166667
LAMBDA_MEMORY_GB = 256 / 1024
VERIFY_LOOP_STATES = {"WaitBeforeVerify", "Verify", "Settled?"}
RECHECK_STATES = {"Recheck?", "WaitBeforeRecheck", "ReadAlarm", "StillInAlarm?", "Escalate"}


def time_to_scale(assembly: Path, workdir: Path) -> tuple[list[float], dict]:
    samples, incident = [], {}
    for i in range(RUNS):
        with Sandbox("dhbw", assembly=assembly, workdir=workdir) as sb:
            started = time.perf_counter()
            sb.fire_alarm(ALARM, "ALARM")
            scale = next(a for a in sb.recorder.actions if a["operation"] == "UpdateService")
            samples.append(scale["at"] - started)
            if i == RUNS - 1:  # a warm run: count what one incident costs, its re-check included
                sb.fire_alarm(ALARM, "OK")  # the load went down: the re-check finds the alarm OK
                incident = count_incident(sb)
    return samples, incident


def count_incident(sb: Sandbox) -> dict:
    """The ALARM's executions (respond and its runbook), not the OK's that resolves it."""
    transitions, lambdas, recheck = 0, 0, 0
    for e in sb.executions():
        if (e.get("output") or {}).get("decision") == "resolve":
            continue
        for h in sb.history(e["arn"]):
            if h["type"].endswith("StateEntered"):
                transitions += 1
                recheck += (h.get("stateEnteredEventDetails") or {}).get("name") in RECHECK_STATES
            scheduled = h.get("taskScheduledEventDetails") or {}
            if h["type"] == "LambdaFunctionScheduled" or scheduled.get("resourceType") == "lambda":
                lambdas += 1
    polls = sum(1 for inv in sb.lambdas.invocations if inv["function"].endswith("scale-ecs-service"))
    resolve = 3  # admit, page (resolve), record of the OK's execution
    seconds = [inv["seconds"] for inv in sb.lambdas.invocations][:-resolve]  # the OK's come last
    # a verify loop of one poll is part of every incident; only extra polls are "verify polling"
    verify_polls = max(polls - 2, 0)  # guard and act are the other invocations of the runbook function
    extra_polls = max(verify_polls - 1, 0)
    per_incident = {
        "state_transitions": transitions,
        "state_transitions_excluding_extra_verify_polls": transitions - extra_polls * len(VERIFY_LOOP_STATES),
        "state_transitions_recheck": recheck,
        "lambda_invocations": lambdas,
        "lambda_invocations_from_in_process_runs": len(sb.lambdas.invocations) - resolve,
        "verify_polls": verify_polls,
        "lambda_seconds_in_sandbox": round(sum(seconds), 4),
    }
    billed_gb_s = sum(max(0.001, s) for s in seconds) * LAMBDA_MEMORY_GB
    per_incident["cost_usd"] = {
        "step_functions": round(transitions * PRICE_PER_TRANSITION, 8),
        "lambda_requests": round(lambdas * PRICE_PER_LAMBDA_REQUEST, 8),
        "lambda_compute": round(billed_gb_s * PRICE_PER_GB_SECOND, 8),
    }
    per_incident["cost_usd"]["total"] = round(sum(per_incident["cost_usd"].values()), 8)
    return per_incident


# Each data-protection run as a scenario would start it: (label, world, how it is started).
DATA_PROTECTION_RUNS = [
    ("snapshot-rds-cluster (schedule)", {}, lambda sb: sb.fire_schedule("snapshot-rds-cluster")),
    ("snapshot-rds-cluster (RDS alarm)", {}, lambda sb: sb.fire_alarm("lecture-dhbw-cluster-cpu-high", "ALARM")),
    (
        "snapshot-rds-cluster (busy for 2 checks)",
        {"rds": {"lecture-dhbw-cluster": {"busy_checks": 2}}},
        lambda sb: sb.fire_schedule("snapshot-rds-cluster"),
    ),
    ("backup-terraform-state (schedule)", {}, lambda sb: sb.fire_schedule("backup-terraform-state")),
    ("check-state-lock (schedule)", {}, lambda sb: sb.fire_schedule("check-state-lock")),
]


def count_run(sb: Sandbox) -> dict:
    """Transitions and Lambda invocations of everything that ran; the verify loop's share apart."""
    transitions, loop, lambdas, polls = 0, 0, 0, 0
    for e in sb.executions():
        for h in sb.history(e["arn"]):
            if h["type"].endswith("StateEntered"):
                transitions += 1
                name = (h.get("stateEnteredEventDetails") or {}).get("name")
                loop += name in VERIFY_LOOP_STATES
                polls += name == "Verify"
            scheduled = h.get("taskScheduledEventDetails") or {}
            if h["type"] == "LambdaFunctionScheduled" or scheduled.get("resourceType") == "lambda":
                lambdas += 1
    return {
        "state_transitions": transitions,
        "state_transitions_polling": loop,
        "state_transitions_without_polling": transitions - loop,
        "lambda_invocations": lambdas,
        "lambda_invocations_polling": polls,
        "lambda_invocations_without_polling": lambdas - polls,
        "polls": polls,
        "simulated_wait_seconds": round(sb.clock.simulated_seconds, 1),
    }


def data_protection_runs(assembly: Path, workdir: Path) -> dict:
    from sandbox.world import World

    out = {}
    for label, world, start in DATA_PROTECTION_RUNS:
        with Sandbox("dhbw", assembly=assembly, workdir=workdir, world=World.model_validate(world)) as sb:
            start(sb)
            sb.finish()  # the re-check's wait resumes (an RDS alarm that stays in ALARM is escalated)
            run = count_run(sb)
            outputs = [e.get("output") or {} for e in sb.executions()]
            run["outcome"] = next((o.get("outcome") for o in outputs if isinstance(o, dict) and o.get("outcome")), None)
            out[label] = run
    return out


def cold_import(module: str, statement: str = "") -> tuple[float, float]:
    """Seconds of wall time and of the process's CPU time. On a shared machine the other tenants' load is in the
    wall time; the CPU time is what the import itself costs (it reads files from the page cache)."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); "
        f"{statement or f'import {module}'}; print(time.perf_counter() - t, time.process_time() - c)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def cold_imports(rounds: int = 11) -> dict:
    """Each round imports boto3 and every handler in fresh interpreters, back to back, so both see the
    same machine load; the ratio is the median of the per-round ratios."""
    seconds: dict[str, list[float]] = {m: [] for m in ["boto3", *HANDLERS]}
    ratios: dict[str, list[float]] = {m: [] for m in ["libraries", *HANDLERS]}
    cpu_ratios: dict[str, list[float]] = {m: [] for m in ["libraries", *HANDLERS]}
    for _ in range(rounds):
        base, base_cpu = cold_import("boto3")
        seconds["boto3"].append(base)
        for m in ["libraries", *HANDLERS]:
            s, cpu = cold_import(m, LIBRARIES if m == "libraries" else "")
            seconds.setdefault(m, []).append(s)
            ratios[m].append(s / base)
            cpu_ratios[m].append(cpu / base_cpu)

    def figures(m: str) -> dict:
        return {
            "seconds": round(statistics.median(seconds[m]), 4),
            "ratio_to_boto3": round(statistics.median(ratios[m]), 2),
            "cpu_ratio_to_boto3": round(statistics.median(cpu_ratios[m]), 2),
        }

    return {
        "rounds": rounds,
        "boto3_seconds": round(statistics.median(seconds["boto3"]), 4),
        "target_ratio_max": 1.5,
        "libraries": {"imports": LIBRARIES, **figures("libraries")},
        "handlers": {m: figures(m) for m in HANDLERS},
    }


def asset_size(assembly: Path) -> dict:
    manifest = json.loads((assembly / f"{naming.stack_name('dhbw')}.assets.json").read_text())
    [code] = [a for a in manifest["files"].values() if a["source"].get("packaging") == "zip"]
    folder = assembly / code["source"]["path"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return {
        "zip_bytes": len(buf.getvalue()),
        "unzipped_bytes": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
        "files": sum(1 for f in folder.rglob("*") if f.is_file()),
    }


def print_cold_imports(cold: dict) -> None:
    print(
        f"cold import, import boto3 = {cold['boto3_seconds']:.3f} s (ratios: wall time, CPU time; target <= "
        f"{cold['target_ratio_max']}):"
    )
    libraries = cold["libraries"]
    print(
        f"  {'the libraries alone':<40} {libraries['seconds']:.3f} s  ratio {libraries['ratio_to_boto3']:.2f}, "
        f"CPU {libraries['cpu_ratio_to_boto3']:.2f}  ({libraries['imports']})"
    )
    for m, v in cold["handlers"].items():
        print(f"  {m:<40} {v['seconds']:.3f} s  ratio {v['ratio_to_boto3']:.2f}, CPU {v['cpu_ratio_to_boto3']:.2f}")


def one_part(key: str, measure, show, announce: str = "") -> dict:
    """Measures one part only (``python -m bench <part>``): the rest of bench/results.json stays as the last full run
    wrote it. Returns the part's figures."""
    out = ROOT / "bench" / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    if announce:
        print(announce, flush=True)
    results[key] = measure()
    out.write_text(json.dumps(results, indent=2) + "\n")
    show(results[key])
    print(f"written to {out.relative_to(ROOT)} ({key} only)")
    return results[key]


def detection_meets_goal(figures: dict) -> int:
    return 0 if all(e["meets_goal"] for e in figures["kinds"].values()) else 1


# python -m bench <part>: (its key in results.json, how it is measured, printed, and what is said first); the exit
# code from its figures (0 unless a part has a goal of its own, EXIT_CODES)
EXIT_CODES = {"detection": detection_meets_goal}
PARTS = {
    "cold-import": ("cold_import", cold_imports, print_cold_imports, "importing handlers in fresh interpreters ..."),
    "cold-import-instructions": (
        "cold_import_instructions",
        lambda: cold_import_instructions(HANDLERS),
        print_cold_import_instructions,
        "counting the handlers' imports under valgrind (about 15 s each) ...",
    ),
    "live": ("live", live_figures, print_live, "starting the live sandbox with every customer deployed ..."),
    "detection": ("detection", detection_figures, print_detection, ""),
    "fleet": (
        "fleet",
        fleet_figures,
        print_fleet,
        "the fleet: three customers and the ops account, then 3 and 30 simulated customers ...",
    ),
}


def main() -> int:
    if len(sys.argv) == 2 and sys.argv[1] in PARTS:
        figures = one_part(*PARTS[sys.argv[1]])
        return EXIT_CODES.get(sys.argv[1], lambda _: 0)(figures)
    results: dict = {"machine_note": "shared, noisy machine: compare ratios from this run, not absolute times"}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        assembly = synthesize(Path(tmp) / "cdk.out", "dhbw")
        print("importing handlers in fresh interpreters ...", flush=True)
        results["cold_import"] = cold_imports()
        results["asset"] = {**asset_size(assembly), "target_max_bytes": 200 * 1024}
        print(f"running {RUNS} incidents in the sandbox ...", flush=True)
        samples, incident = time_to_scale(assembly, Path(tmp))
        print("running the data-protection runbooks once each ...", flush=True)
        results["data_protection_runs"] = data_protection_runs(assembly, Path(tmp))
    results["alarm_to_scaling_call_seconds"] = {
        "runs": RUNS,
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "first_run_cold": round(samples[0], 4),
    }
    results["per_incident"] = {**incident, "targets": {"state_transitions_max": 30, "lambda_invocations_max": 7}}
    print("starting the live sandbox with every customer deployed ...", flush=True)
    results["live"] = live_figures()
    results["detection"] = detection_figures()
    print("the fleet: three customers and the ops account, then 3 and 30 simulated customers ...", flush=True)
    results["fleet"] = fleet_figures()

    out = ROOT / "bench" / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    t, inc = results["alarm_to_scaling_call_seconds"], results["per_incident"]
    print(
        f"\nalarm -> scaling call (sandbox, {RUNS} runs): median {t['median']:.3f} s "
        f"(min {t['min']:.3f}, max {t['max']:.3f}, first/cold {t['first_run_cold']:.3f})"
    )
    print(
        f"per ECS scale-out incident: {inc['state_transitions']} state transitions "
        f"({inc['state_transitions_excluding_extra_verify_polls']} without extra verify polls, "
        f"{inc['state_transitions_recheck']} of them the alarm re-check; target <= 30), "
        f"{inc['lambda_invocations']} Lambda invocations (target <= 7), {inc['verify_polls']} verify poll(s)"
    )
    c = inc["cost_usd"]
    print(
        f"cost per incident at list prices: ${c['total']:.8f} (Step Functions ${c['step_functions']:.8f}, "
        f"Lambda requests ${c['lambda_requests']:.8f}, Lambda compute ${c['lambda_compute']:.8f}; "
        "compute from sandbox durations at 256 MB)"
    )
    print("per data-protection run (all executions: respond + the runbook; polling = the verify loop):")
    for label, r in results["data_protection_runs"].items():
        print(
            f"  {label:<42} {r['state_transitions']:>3} transitions ({r['state_transitions_polling']} polling), "
            f"{r['lambda_invocations']} Lambda invocations ({r['lambda_invocations_polling']} polls), "
            f"outcome {r['outcome']}"
        )
    print_cold_imports(results["cold_import"])
    a = results["asset"]
    print(
        f"Lambda code asset: {a['zip_bytes']} bytes zipped, {a['unzipped_bytes']} unzipped, {a['files']} files "
        f"(target <= {a['target_max_bytes']})"
    )
    print_live(results["live"])
    print_detection(results["detection"])
    print_fleet(results["fleet"])
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
