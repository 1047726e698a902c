"""Bad input to `python -m sandbox serve`: one line naming the problem, exit 1, nothing left running."""

import json
import socket
import subprocess
import sys

import pytest

from tests.live.conftest import ROOT, free_port


def serve(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--deploy", "dhbw,nope"], "error: --deploy: unknown customer nope; known: dhbw, edt, unilux"),
        (["--deploy", ""], "error: --deploy: unknown customer ''; known: dhbw, edt, unilux"),
    ],
)
def test_an_unknown_customer_in_deploy_is_named(args, message):
    proc = serve("--port", str(free_port()), *args)
    assert proc.returncode == 1 and proc.stderr.strip() == message and "sandbox ready" not in proc.stdout


def test_an_invalid_world_file_is_named(tmp_path):
    bad = tmp_path / "world.json"
    bad.write_text(json.dumps({"customer": "dhbw", "world": {"ecs": {"lecture-backend-service": {"desired": -1}}}}))
    proc = serve("--port", str(free_port()), "--world", str(bad))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1
    assert lines[0].startswith(f"error: --world {bad}") and "desired" in lines[0]
    missing = serve("--port", str(free_port()), "--world", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_a_port_already_taken_is_named():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve("--port", str(port))
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"error: port {port} on 127.0.0.1 is already in use")
