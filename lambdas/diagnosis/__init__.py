"""Diagnoses, one module per resource kind (named after it), each exposing
``diagnose(clients, config, target) -> dict``. Read-only; a diagnosis never blocks a page."""

import importlib
from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(kind: str, clients: Callable[[str], Any], config: CustomerConfig, target: str) -> dict[str, Any]:
    """What a page about an alarm on ``target`` (an instance of ``kind``) carries."""
    try:
        module = importlib.import_module(f"lambdas.diagnosis.{kind}")
        return dict(module.diagnose(clients, config, target))
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        return {"error": f"diagnosis unavailable: {type(exc).__name__}: {exc}"}
