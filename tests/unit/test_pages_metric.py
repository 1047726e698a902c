"""Each request PagerDuty accepts is counted (pages_sent, by kind) for the overview dashboard."""

import json

import pytest

from lambdas.errors import PagerDutyError
from tests.unit.builders import alarm_event


def _emf(out: str) -> list[dict]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [
        {
            "kind": d.get("kind"),
            "service": d.get("service"),
            "value": d.get("pages_sent"),
            "namespace": d["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        }
        for d in docs
        if "pages_sent" in d
    ]


def test_a_trigger_and_a_resolve_are_counted_by_kind(world, capsys):
    decision = world.admit(alarm_event("ALARM", "OK"))
    world.pager.trigger_alarm(decision, {})
    world.pager.resolve(decision)
    assert _emf(capsys.readouterr().out) == [
        {"kind": "trigger", "service": "lecture-remediation", "value": [1.0], "namespace": "LectureRemediation"},
        {"kind": "resolve", "service": "lecture-remediation", "value": [1.0], "namespace": "LectureRemediation"},
    ]


def test_a_page_pagerduty_refused_is_not_counted(world, capsys):
    decision = world.admit(alarm_event("ALARM", "OK"))
    world.pd.fail_next(500, 10)
    with pytest.raises(PagerDutyError):
        world.pager.trigger_alarm(decision, {})
    assert _emf(capsys.readouterr().out) == []
