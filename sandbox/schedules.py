"""EventBridge schedule rules on the sandbox's clock: which rules fire between two moments.

moto keeps schedule rules but never fires them. The live sandbox (sandbox/serve.py) asks ``due`` on every tick of
its clock (real time, plus what ``/_sandbox/clock`` advances), and delivers a "Scheduled Event" per firing.
``rate(N minute|minutes|hour|hours|day|days)`` counts from the moment the sandbox started; ``cron(...)`` takes
AWS's six fields (minute hour day-of-month month day-of-week year) with numbers, lists, ranges, steps, ``*`` and
``?``; what the catalog declares (``cron(30 2 * * ? *)``, ``cron(0 3 15 * ? *)``) is a subset.
"""

import re
from datetime import datetime, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class ScheduleError(ValueError):
    pass


def _field(text: str, low: int, high: int) -> set[int]:
    if text in ("*", "?"):
        return set(range(low, high + 1))
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(_DOW.get(a, a)), int(_DOW.get(b, b))
        else:
            start = end = int(_DOW.get(part, part))
        values |= set(range(start, end + 1, step))
    return values


def _cron(expression: str):
    fields = expression[len("cron(") : -1].split()
    if len(fields) != 6:
        raise ScheduleError(f"{expression}: a cron expression has 6 fields")
    try:
        minute, hour, dom, month, dow, year = (
            _field(fields[0], 0, 59),
            _field(fields[1], 0, 23),
            _field(fields[2], 1, 31),
            _field(fields[3], 1, 12),
            _field(fields[4], 1, 7),
            _field(fields[5], 1970, 2199),
        )
    except ValueError:
        raise ScheduleError(f"{expression}: the sandbox's scheduler knows numbers, lists, ranges, steps, * and ?") from None
    any_dom, any_dow = fields[2] in ("*", "?"), fields[4] in ("*", "?")

    def matches(at: datetime) -> bool:
        aws_dow = (at.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
        day_ok = (at.day in dom if not any_dom else True) and (aws_dow in dow if not any_dow else True)
        return at.minute in minute and at.hour in hour and at.month in month and at.year in year and day_ok

    return matches


def due(expression: str, since: datetime, until: datetime, origin: datetime) -> int:
    """How many times the schedule fires in (since, until]; ``origin`` is when a rate() schedule started."""
    if until <= since:
        return 0
    rate = _RATE.match(expression)
    if rate:
        period = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")]
        if period <= 0:
            raise ScheduleError(f"{expression}: the rate must be positive")
        count = lambda t: int((t - origin).total_seconds() // period)  # noqa: E731 - firings after origin
        return max(0, count(until) - count(since))
    if expression.startswith("cron(") and expression.endswith(")"):
        matches = _cron(expression)
        fired = 0
        at = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while at <= until:
            fired += matches(at)
            at += timedelta(minutes=1)
        return fired
    raise ScheduleError(f"{expression}: not a rate(...) or cron(...) expression")
