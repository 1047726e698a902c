"""How the CLI prints: tables (text) or one JSON document (--output json), and timestamps short and in UTC."""

import json
from datetime import UTC, datetime
from typing import Any

OUTPUTS = ("text", "json")


def short_time(value: Any) -> str:
    """A timestamp (a datetime, or ISO 8601 text as the automation writes it) as 2026-12-01 21:40:05Z (UTC); a
    value that is not a timestamp as it is ("" for none)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if moment.tzinfo is None:  # the automation writes UTC; a naive time is read as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(rows: list[list[str]], header: list[str]) -> str:
    """Columns padded to their widest cell. A shorter row's last cell runs on past the columns (an error row)."""
    full = [r for r in [header, *rows] if len(r) == len(header)]
    widths = [max(len(str(r[i])) for r in full) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def short(text: str, width: int = 90) -> str:
    """One line, cut at ``width`` characters (with ...)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def as_json(result: Any) -> str:
    return json.dumps(result, indent=2, default=str)
