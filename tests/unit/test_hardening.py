"""Issue 5, section 2: PagerDuty endpoints only (customer file and Lambda), the sandbox's redirect to
its fake PagerDuty, and audit rows that are never overwritten."""

import json
import urllib.request
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from catalog.customer import PAGERDUTY_EVENTS_URLS
from customers import CustomerConfigError, load_customer, load_file
from lambdas.errors import AuditNotAppended, ConfigurationError
from lambdas.logic import pagerduty
from lambdas.logic import paging as paging_mod
from lambdas.logic.paging import Pager
from lambdas.logic.store import Store
from lambdas.settings import Settings
from sandbox.moto_gaps import Patches
from sandbox.pagerduty import redirect_official_hosts

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ELSEWHERE = "https://pagerduty.attacker.example/v2/enqueue"


def _customer_file(tmp_path, url: str):
    path = tmp_path / "dhbw.yaml"
    path.write_text(
        "customer: dhbw\naccount: '111111111111'\nregion: eu-central-1\n"
        "ecs: {services: [{name: svc, min_tasks: 1, max_tasks: 2}]}\n"
        "terraform: {state_bucket: dhbw-terraform-state}\n"
        f"paging: {{pagerduty_events_url: '{url}'}}\n"
    )
    return path


@pytest.mark.parametrize(
    "url", [ELSEWHERE, "http://events.pagerduty.com/v2/enqueue", "https://events.pagerduty.com/v2/enqueue?x=https://evil"]
)
def test_a_customer_file_with_another_pagerduty_url_is_refused_naming_the_allowed_ones(tmp_path, url):
    with pytest.raises(CustomerConfigError) as err:
        load_file(_customer_file(tmp_path, url))
    message = str(err.value)
    assert "paging.pagerduty_events_url" in message and url in message
    assert all(allowed in message for allowed in PAGERDUTY_EVENTS_URLS)


def test_the_eu_service_region_is_allowed(tmp_path):
    config = load_file(_customer_file(tmp_path, "https://events.eu.pagerduty.com/v2/enqueue"))
    assert config.paging.pagerduty_events_url == "https://events.eu.pagerduty.com/v2/enqueue"


def test_the_lambda_takes_the_url_from_the_customer_file_only(monkeypatch):
    config = load_customer("dhbw")
    monkeypatch.setenv("CUSTOMER_CONFIG", config.model_dump_json())
    monkeypatch.setenv("PAGERDUTY_EVENTS_URL", ELSEWHERE)  # a stale or injected variable is not read
    monkeypatch.setenv("MODE_PARAMETER", "/lecture/dhbw/remediation/mode")
    settings = Settings.from_env()
    assert settings.pagerduty_events_url == config.paging.pagerduty_events_url == PAGERDUTY_EVENTS_URLS[0]


def test_a_tampered_customer_config_in_the_environment_fails_at_start(monkeypatch):
    data = json.loads(load_customer("dhbw").model_dump_json())
    data["paging"]["pagerduty_events_url"] = ELSEWHERE
    monkeypatch.setenv("CUSTOMER_CONFIG", json.dumps(data))
    with pytest.raises(ConfigurationError, match="not a PagerDuty Events API endpoint"):
        Settings.from_env()


def test_the_pager_from_settings_refuses_another_url_before_reading_the_routing_key(monkeypatch):
    reads = []
    monkeypatch.setattr(paging_mod.parameters, "get_secret", lambda *a, **k: reads.append(a) or "key")
    settings = SimpleNamespace(
        customer=load_customer("dhbw"), topic_arn="", pagerduty_secret_name="lecture/dhbw/pd", pagerduty_events_url=ELSEWHERE
    )
    with pytest.raises(ConfigurationError) as err:
        Pager.from_settings(settings, NOW)
    assert "refusing to page" in str(err.value) and ELSEWHERE in str(err.value)
    assert reads == []


def test_the_sandbox_redirects_pagerduty_hosts_to_its_fake_and_undoes_it(pd):
    patches = Patches()
    original = urllib.request.urlopen
    redirect_official_hosts(patches, pd)
    try:
        event = pagerduty.trigger_event("k" * 32, "dedup", summary="s", source="src", severity="info")
        pagerduty.send(event, PAGERDUTY_EVENTS_URLS[1], sleep=lambda s: None)
        pagerduty.send(event, pd.events_url, sleep=lambda s: None)  # other URLs pass through unchanged
    finally:
        patches.undo()
    assert urllib.request.urlopen is original
    assert [r["path"] for r in pd.requests] == ["/v2/enqueue", "/v2/enqueue"]
    assert pd.accepted == [event, event]


def test_an_audit_row_is_never_overwritten(table):
    store = Store(table, now=NOW)
    store.audit("dhbw-1", "record", {"outcome": "scaled"})
    # (issue 15: the row's put is one half of the hash chain's transaction, refused as AuditNotAppended)
    with pytest.raises(AuditNotAppended, match="exists already"):
        store.audit("dhbw-1", "record", {"outcome": "tampered"})
    [row] = store.audit_trail("dhbw-1")
    assert row["outcome"] == "scaled"
