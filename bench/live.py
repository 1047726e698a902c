"""The live sandbox as its users meet it (``python -m bench live``): ``python -m sandbox serve --deploy all`` in its
own process, then the real clients against it.

- start-up: from the process start to its ``sandbox ready`` line;
- memory: the process's resident set (VmRSS) when ready, and after an alarm's incident ran;
- an operators' CLI command (``python cli.py status -c dhbw``, ``status --all``): wall time of the whole command,
  median of a few runs;
- an alarm set with the AWS CLI (``aws cloudwatch set-alarm-state``) to the scaling call (UpdateService): the time
  from the command's start to the action in the sandbox's report.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ALARM = "lecture-dhbw-lecture-backend-service-cpu-high"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _timed(cmd: list[str], env: dict, runs: int = 5) -> dict:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120)
        samples.append(time.perf_counter() - started)
    return {"runs": runs, "median_seconds": round(statistics.median(samples), 3), "max_seconds": round(max(samples), 3)}


def live_figures() -> dict:
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        config = Path(tmp) / "aws-config"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--deploy", "all", "--config-dir", tmp],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("sandbox ready"):
                    break
            else:
                raise RuntimeError("the live sandbox ended before it was ready")
            ready = time.perf_counter() - started
            output = proc.stdout  # read on, so that its live timeline never blocks it
            threading.Thread(target=lambda: [None for _ in output], daemon=True).start()
            rss_ready = _rss_mib(proc.pid)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
            env.update(
                {
                    "AWS_CONFIG_FILE": str(config),
                    "AWS_SHARED_CREDENTIALS_FILE": str(Path(tmp) / "none"),
                    "AWS_EC2_METADATA_DISABLED": "true",
                }
            )
            cli_one = _timed([sys.executable, "cli.py", "status", "-c", "dhbw"], env)
            cli_all = _timed([sys.executable, "cli.py", "status", "--all"], env, runs=3)
            fired = time.perf_counter()
            subprocess.run(
                [
                    str(BIN / "aws"),
                    "--profile",
                    "lecture-dhbw-prod",
                    "cloudwatch",
                    "set-alarm-state",
                    "--alarm-name",
                    ALARM,
                    "--state-value",
                    "ALARM",
                    "--state-reason",
                    "bench",
                ],
                env=env,
                check=True,
                capture_output=True,
                timeout=60,
            )
            to_scale = None
            while time.perf_counter() - fired < 120:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/report", timeout=30) as r:
                    report = json.load(r)
                if any(a.get("operation") == "UpdateService" for a in report["customers"]["dhbw"]["actions"]):
                    to_scale = time.perf_counter() - fired
                    break
                time.sleep(0.2)
            time.sleep(2)
            rss_after = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return {
        "ready_seconds_deploy_all": round(ready, 2),
        "rss_mib_ready": rss_ready,
        "rss_mib_after_incident": rss_after,
        "rss_target_max_mib": 1024,
        "cli_status_one_customer": {**cli_one, "target_max_seconds": 2.0},
        "cli_status_all": cli_all,
        "set_alarm_state_to_update_service_seconds": round(to_scale, 2) if to_scale is not None else None,
    }


def print_live(live: dict) -> None:
    print(
        f"live sandbox (--deploy all): ready in {live['ready_seconds_deploy_all']} s, RSS {live['rss_mib_ready']} MiB"
        f" ready / {live['rss_mib_after_incident']} MiB after an incident (target < 1024)"
    )
    print(
        f"  cli.py status -c dhbw: median {live['cli_status_one_customer']['median_seconds']} s (target <= 2 s); "
        f"status --all: median {live['cli_status_all']['median_seconds']} s"
    )
    print(f"  aws cloudwatch set-alarm-state -> UpdateService: {live['set_alarm_state_to_update_service_seconds']} s")
