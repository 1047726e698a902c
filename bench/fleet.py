"""The fleet's figures (issue 16): `python -m bench fleet`.

1. Per incident event, with 3 and with 30 simulated customers: the correlate workflow's state transitions, its
   Lambda invocations and the correlate function's DynamoDB calls (mean and max over every event: each customer
   goes down, then recovers). Constant in the number of customers: no scan per event.
2. From the second customer's down alarm (set-alarm-state in its account) to the P0 trigger reaching PagerDuty:
   sandbox wall time (the sandbox compresses no wait on this path: it has none) and the simulated seconds of waits.

The 30 customers are simulated: the deployed ops stack's correlate function is given 30 customer accounts (its
OPS_CONFIG) and their incident events are put on the ops bus, as the customers' forwarding rules would.
"""

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalog import naming
from customers import load_ops
from sandbox.engine import Sandbox
from sandbox.synth import synthesized

FLEET = ["dhbw", "edt", "unilux"]
TASKS_LOW = "lecture-{}-lecture-backend-service-running-tasks-low"
CORRELATE = naming.function_name(naming.OPS, naming.CORRELATE_WORKFLOW)


def _second_down_to_p0(sb: Sandbox) -> dict:
    sb.fire_alarm(TASKS_LOW.format("dhbw"), customer="dhbw")
    started = time.monotonic()
    simulated = sb.clock.simulated_seconds
    sb.fire_alarm(TASKS_LOW.format("edt"), customer="edt")
    sb.finish()
    [p0] = [p for p in sb.p0_pages() if p["body"].get("event_action") == "trigger"]
    return {
        "seconds_wall_in_sandbox": round(p0["at"] - started, 3),
        "simulated_wait_seconds": round(sb.clock.simulated_seconds - simulated, 3),
        "path": "set-alarm-state -> respond admit (PutEvents) -> forwarding rule -> ops bus -> correlate -> PagerDuty",
    }


def _simulate(sb: Sandbox, customers: int) -> dict:
    """``customers`` simulated customer accounts: each one's down incident opens, then closes."""
    ops = load_ops()
    accounts = {f"{500000000000 + i}": f"sim-{i:02d}" for i in range(customers)}
    config = ops.model_copy(update={"customers": accounts})
    lam = sb.ops.client("lambda")
    env = lam.get_function_configuration(FunctionName=CORRELATE)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=CORRELATE, Environment={"Variables": {**env, "OPS_CONFIG": config.model_dump_json()}}
    )
    t0 = datetime.now(UTC).replace(microsecond=0)
    events = []
    for state, offset in (("open", 0), ("closed", 60)):
        for i, (account, customer) in enumerate(accounts.items()):
            at = t0 + timedelta(seconds=offset + i)
            events.append(
                {
                    "version": "0",
                    "id": f"{customer}-{state}",
                    "detail-type": naming.INCIDENT_EVENT_DETAIL_TYPE,
                    "source": naming.INCIDENT_EVENT_SOURCE,
                    "account": account,
                    "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": ops.region,
                    "resources": [],
                    "detail": {
                        "customer": customer,
                        "incident_id": f"{customer}-inc-1",
                        "kind": "ecs_service/running-tasks-low",
                        "severity": "P1",
                        "resource": "lecture-backend-service",
                        "state": state,
                        "time": at.isoformat(),
                        "down": True,
                    },
                }
            )
    calls_before = len(sb.recorder.calls)
    for event in events:
        sb.ops.bus.put(event)
        sb.wait_all()
    sb.finish()
    transitions, invocations = [], []
    for run in sb.executions_log.all(sb.ops.state_machines()):
        history = sb.history(run["arn"])
        transitions.append(sum(1 for h in history if h["type"].endswith("StateEntered")))
        invocations.append(
            sum(
                1
                for h in history
                if h["type"] == "LambdaFunctionScheduled"
                or (h.get("taskScheduledEventDetails") or {}).get("resourceType") == "lambda"
            )
        )
    ddb = [c for c in sb.recorder.calls[calls_before:] if c["function"] == CORRELATE and c["service"] == "dynamodb"]
    scans = sum(1 for c in ddb if c["operation"] == "Scan")
    outcomes = [
        ((r.get("output") or {}).get("correlate") or {}).get("outcome") for r in sb.executions_log.all(sb.ops.state_machines())
    ]
    return {
        "customers": customers,
        "events": len(events),
        "state_transitions_mean": round(statistics.mean(transitions), 2),
        "state_transitions_max": max(transitions),
        "lambda_invocations_mean": round(statistics.mean(invocations), 2),
        "lambda_invocations_max": max(invocations),
        "dynamodb_calls_per_event": round(len(ddb) / len(events), 2),
        "dynamodb_scans": scans,
        "p0_pages": _counts([p["body"]["event_action"] for p in sb.p0_pages()]),
        "outcomes": _counts([o for o in outcomes if o]),
    }


def _counts(values: list[str]) -> dict[str, int]:
    return {v: values.count(v) for v in sorted(set(values))}


def fleet_figures() -> dict:
    assembly = synthesized()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        first = Sandbox(FLEET, ops=True, assembly=assembly, workdir=Path(tmp) / "a", keep_deployed=True)
        first.start()
        try:
            snapshot = first.deployed_snapshot
            latency = _second_down_to_p0(first)
        finally:
            first.stop()
        per_event = {}
        for n in (3, 30):
            sb = Sandbox(FLEET, ops=True, assembly=assembly, workdir=Path(tmp) / f"n{n}", deployed=snapshot)
            sb.start()
            try:
                per_event[str(n)] = _simulate(sb, n)
            finally:
                sb.stop()
    return {"second_down_to_p0": latency, "per_incident_event": per_event}


def print_fleet(f: dict) -> None:
    lat = f["second_down_to_p0"]
    print(
        f"fleet: second customer's down alarm to the P0 trigger: {lat['seconds_wall_in_sandbox']} s in the sandbox "
        f"({lat['simulated_wait_seconds']} s of compressed waits)"
    )
    for n, r in f["per_incident_event"].items():
        print(
            f"  {n:>2} customers: per incident event {r['state_transitions_mean']} transitions (max "
            f"{r['state_transitions_max']}), {r['lambda_invocations_mean']} Lambda invocations (max "
            f"{r['lambda_invocations_max']}), {r['dynamodb_calls_per_event']} DynamoDB calls, {r['dynamodb_scans']} scans; "
            "P0 pages " + ", ".join(f"{k} x{v}" for k, v in r["p0_pages"].items())
        )
