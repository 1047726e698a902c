"""Synthesize the CDK app exactly as `cdk synth` would, into a cloud assembly directory."""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".sandbox" / "synth"
# What the synthesized assembly is made of: the app, its context, its code and the pinned versions.
SOURCES = ("app.py", "cdk.json", "package-lock.json", "requirements.txt", "catalog", "customers", "lambdas", "stacks")
QUIET_NODE = {
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}


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


def source_digest(customer: str | None = None) -> str:
    """A digest of everything the assembly is made of (SOURCES) and the customer it is for."""
    digest = hashlib.sha256((customer or "*all*").encode())
    for source in SOURCES:
        path = ROOT / source
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
            if path.exists()
            else []
        )
        for file in files:
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def synthesized(customer: str | None = None) -> Path:
    """The assembly of the current sources, synthesized once and kept in .sandbox/synth (keyed by the sources'
    digest, so a change to the app, a customer file or the code synthesizes again; ``make clean`` forgets them).
    Concurrent callers (test workers, processes) wait on one lock per assembly: the first synthesizes, the others
    take its assembly."""
    name = f"{customer or 'all'}-{source_digest(customer)}"
    target = CACHE / name
    if (target / "manifest.json").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / f"synth-{customer or 'all'}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when this process dies
        if (target / "manifest.json").exists():  # another caller synthesized it while this one waited
            return target
        scratch = CACHE / f".{name}-{uuid.uuid4().hex[:8]}"
        try:
            synthesize(scratch, customer)
            shutil.rmtree(target, ignore_errors=True)  # never a whole assembly: those have their manifest
            scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    for old in CACHE.glob(f"{customer or 'all'}-*"):  # the assemblies of sources that are gone
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return target
