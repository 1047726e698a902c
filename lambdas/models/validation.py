"""Turn pydantic errors into one sentence that names each wrong field."""

from pydantic import ValidationError


def describe(exc: ValidationError, what: str) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(whole object)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"field '{field}': {msg}" if err["loc"] else msg)
    return f"{what}: " + "; ".join(parts)
