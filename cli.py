#!/usr/bin/env python3
"""The operators' CLI (operators/cli.py): `python cli.py --help`."""

import sys

from operators.cli import CliError, UsageError, main, parse_assignments, validate

__all__ = ["main", "validate", "parse_assignments", "UsageError", "CliError"]

if __name__ == "__main__":
    sys.exit(main())
