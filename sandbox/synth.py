"""Synthesize the CDK app exactly as `cdk synth` would, into a cloud assembly directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET_NODE = {"JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
              "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}


class SynthError(Exception):
    pass


def synthesize(outdir: Path, customer: str | None = None) -> Path:
    """Run `python app.py` (what cdk.json's "app" runs) with CDK_OUTDIR; returns the assembly dir."""
    env = {**os.environ, **QUIET_NODE, "CDK_OUTDIR": str(outdir)}
    if customer:
        env["CDK_CONTEXT_JSON"] = json.dumps({"customer": customer})
    proc = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SynthError(f"cdk synth failed:\n{proc.stderr.strip() or proc.stdout.strip()}")
    return outdir
