"""The customer's mode switch (SSM parameter): enforce | dry-run | off."""

from typing import Any, TypeGuard

from catalog.customer import MODES, Mode


def _is_mode(value: object) -> TypeGuard[Mode]:
    return value in MODES


def read_mode(ssm: Any, parameter: str) -> tuple[Mode, str]:
    """Returns (mode, note). An unreadable or unknown value fails safe to dry-run, and says so."""
    try:
        value = str(ssm.get_parameter(Name=parameter)["Parameter"]["Value"]).strip()
    except Exception as exc:  # noqa: BLE001 - any failure to read means: do not mutate
        return "dry-run", f"mode switch {parameter} could not be read ({exc}); treated as dry-run"
    if not _is_mode(value):
        return "dry-run", (
            f"mode switch {parameter} has unknown value {value!r} (expected one of {', '.join(MODES)}); treated as dry-run"
        )
    return value, ""


_STRICTNESS = {mode: rank for rank, mode in enumerate(MODES)}  # MODES runs from loosest to strictest


def strictest(*modes: Mode | None) -> Mode:
    """off beats dry-run beats enforce: a run is never looser than any of the modes that apply."""
    return max((m for m in modes if m), key=_STRICTNESS.__getitem__, default=MODES[0])
