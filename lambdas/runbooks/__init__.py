"""Runbook Lambdas: one module per runbook, named after it (``lambdas/runbooks/<name>.py``), holding its plan
and its guard / act / verify logic. ``kit`` does what they all share and builds each module's ``handler``."""

from lambdas.runbooks.kit import parse_input

__all__ = ["parse_input"]
