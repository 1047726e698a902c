"""Make a Step Functions error (Error + Cause) readable for a page: unwrap Lambda and child-execution causes."""

import json


def explain(error: object) -> tuple[str, str]:
    """Returns (error name, human message)."""
    if not isinstance(error, dict):
        return "Unknown", "the workflow failed without an error description"
    name = str(error.get("Error") or "Unknown")
    cause = error.get("Cause")
    for _ in range(3):  # a child execution's cause wraps its own error, which wraps the Lambda's
        if not isinstance(cause, str):
            break
        try:
            parsed = json.loads(cause)
        except ValueError:
            break
        if not isinstance(parsed, dict):
            break
        if "errorMessage" in parsed:
            return str(parsed.get("errorType") or name), str(parsed["errorMessage"])
        if "Cause" in parsed or "Error" in parsed:
            name = str(parsed.get("Error") or name)
            cause = parsed.get("Cause")
            continue
        break
    return name, str(cause or "no cause given")
