"""Cold import in instructions (valgrind's callgrind): the same comparison as the timed cold import (3.), counted
instead of timed, so the figure is the same on a quiet and on a loaded machine and a change of a few per cent shows.

Each statement runs in a fresh interpreter under ``valgrind --tool=callgrind``; the instructions of an empty
interpreter (``python -c pass``) are taken off, so what is left is the import itself, as the timed figure is.
Beside the libraries every function imports, the floor with pydantic's ``Field`` (every model of ours declares
fields with it; it imports ``pydantic.types`` and ``annotated_types``): what no handler can go under while its
models are pydantic models.

The libraries are read from their bytecode (pip compiled them); our modules are compiled from source at each
import when the environment says so (``PYTHONDONTWRITEBYTECODE``), as Lambda does with the code asset, which
ships no bytecode: the runtime is Python 3.13, and only its own interpreter could write bytecode for it.
"""

import re
import shutil
import subprocess
import sys

from sandbox.synth import ROOT

# What every function imports before any code of ours: the floor under each handler's ratio (timed and counted).
LIBRARIES = "import boto3, aws_lambda_powertools; from pydantic import BaseModel"
LIBRARIES_WITH_FIELD = f"{LIBRARIES}, Field"
COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(valgrind: str, statement: str) -> int:
    """Instructions of ``python -c statement`` (an interpreter's start and end included)."""
    out = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = COLLECTED.search(out.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no instruction count for {statement!r}: {out.stderr[-300:]}")
    return int(found.group(1))


def cold_import_instructions(handlers: list[str]) -> dict:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind); this part counts with it")
    empty = instructions(valgrind, "pass")

    def of(statement: str) -> int:
        return instructions(valgrind, statement) - empty

    base = of("import boto3")

    def figures(statement: str) -> dict:
        n = of(statement)
        return {"instructions": n, "ratio_to_boto3": round(n / base, 2)}

    return {
        "boto3_instructions": base,
        "target_ratio_max": 1.5,
        "libraries": {"imports": LIBRARIES, **figures(LIBRARIES)},
        "libraries_with_field": {"imports": LIBRARIES_WITH_FIELD, **figures(LIBRARIES_WITH_FIELD)},
        "handlers": {m: figures(f"import {m}") for m in handlers},
    }


def print_cold_import_instructions(figures: dict) -> None:
    print(
        f"cold import in instructions (callgrind), import boto3 = {figures['boto3_instructions'] / 1e6:.0f} M "
        f"(target <= {figures['target_ratio_max']}):"
    )
    for key in ("libraries", "libraries_with_field"):
        row = figures[key]
        print(f"  {row['imports']:<72} {row['instructions'] / 1e6:5.0f} M  ratio {row['ratio_to_boto3']:.2f}")
    for m, row in figures["handlers"].items():
        print(f"  {m:<72} {row['instructions'] / 1e6:5.0f} M  ratio {row['ratio_to_boto3']:.2f}")
