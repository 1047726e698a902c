"""Turn a pydantic ValidationError into one sentence that names each wrong field.

Used wherever input is validated: customer files, alarm events, runbook inputs, scenario files, the CLI.
"""

from pydantic import ValidationError


def describe(exc: ValidationError, what: str) -> str:
    """'<what>: field 'a.b': <problem>; <problem of the whole object>'"""
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["loc"]:
            field = ".".join(str(p) for p in err["loc"])
            parts.append(f"field '{field}': {msg}")
        else:
            parts.append(msg)
    return f"{what}: " + "; ".join(parts)
