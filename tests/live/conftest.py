"""The live sandbox (python -m sandbox serve) as its users run it: a separate process on 127.0.0.1, reached by the
AWS CLI, the CDK CLI and python cli.py through the profiles of its aws-config, never by the test's own moto."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_PARTS = ("app.py", "cdk.json", "package.json", "catalog", "customers", "stacks", "lambdas")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_copy(tmp_path):
    """The CDK app in a folder of its own, so the test can change a customer file without touching the checkout."""
    app = tmp_path / "app"
    app.mkdir()
    for part in APP_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, app / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, app / part)
    (app / "node_modules").symlink_to(ROOT / "node_modules")
    cdk_json = json.loads((app / "cdk.json").read_text())  # its app runs with this interpreter (.venv's)
    cdk_json["app"] = f"{sys.executable} app.py"
    (app / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    return app


CDK_PROFILE = "lecture-unilux-prod"  # the CDK CLI tests deploy unilux themselves (their serve deploys nothing)
CDK_ACCOUNT = "333333333333"


def bootstrapped_cdk(sb, app):
    """`npx cdk ...` in the app copy with unilux's profile, after `cdk bootstrap` of its account."""

    def cdk(*args: str, check: bool = True):
        return sb.run("npx", "cdk", *args, "--profile", CDK_PROFILE, cwd=app, timeout=900, check=check)

    cdk("bootstrap", f"aws://{CDK_ACCOUNT}/eu-central-1")
    return cdk


class LiveSandbox:
    def __init__(self, args: list[str], config_dir: Path):
        self.port = free_port()
        self.config_dir = config_dir
        self.config = config_dir / "aws-config"
        self.lines: list[str] = []
        cmd = [sys.executable, "-m", "sandbox", "serve", "--port", str(self.port), "--config-dir", str(config_dir), *args]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env(with_config=False)
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith("sandbox ready: ") for line in self.lines):
                return
            if self.proc.poll() is not None:
                raise AssertionError("serve exited early:\n" + "\n".join(self.lines))
            time.sleep(0.2)
        raise AssertionError("serve not ready in time:\n" + "\n".join(self.lines[-30:]))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, with_config: bool = True) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env.update(
            {
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                "AWS_EC2_METADATA_DISABLED": "true",
                "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
                "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                "CDK_DISABLE_VERSION_CHECK": "1",
                "HOME": str(self.config_dir),
            }
        )  # no ~/.aws of the machine, no CLI cache between runs
        if with_config:
            env["AWS_CONFIG_FILE"] = str(self.config)
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.config_dir / "no-credentials")
        return env

    def run(self, *cmd: str, timeout: float = 120, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(cmd), cwd=cwd, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            server = "\n".join(self.lines[-60:])  # what the sandbox said meanwhile (a moto traceback, the timeline)
            raise AssertionError(
                f"{' '.join(cmd)} -> {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}\n"
                f"the sandbox's last lines:\n{server}"
            )
        return proc

    def aws(self, profile: str, *args: str, check: bool = True):
        proc = self.run(str(BIN / "aws"), "--profile", profile, "--output", "json", *args, check=check)
        return json.loads(proc.stdout) if proc.stdout.strip() and proc.returncode == 0 else proc

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "cli.py", *args, check=check)

    def control(self, method: str, path: str) -> dict:
        request = urllib.request.Request(self.endpoint + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as resp:
            return json.loads(resp.read())

    def wait_for(self, predicate, timeout: float = 180, every: float = 0.5, what: str = "a condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}; serve printed:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode


@pytest.fixture(scope="module")
def live_sandbox(request, tmp_path_factory):
    """One live sandbox per test module: the module's ``SERVE_ARGS`` (default: dhbw and edt deployed)."""
    args = getattr(request.module, "SERVE_ARGS", ["--deploy", "dhbw,edt"])
    sb = LiveSandbox(args, tmp_path_factory.mktemp("live"))
    try:
        sb.wait_ready()
        yield sb
    finally:
        code = sb.stop()
        assert code == 0, "serve did not stop cleanly on SIGINT:\n" + "\n".join(sb.lines[-30:])
