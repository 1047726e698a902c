"""End-to-end: the Terraform state backup and the stale-lock watch, fired by their schedules through respond."""

from tests.e2e.conftest import executions

STATE_KEY = "lecture-dhbw/terraform.tfstate"
DATED_PREFIX = "lecture-dhbw/terraform.tfstate.2"  # .YYYYMMDD
BACKUP = "lecture-dhbw/terraform.tfstate.backup"
LOCK_ID = "6b1d7c1e-2f0a-4d7e-9a55-1c3b8e2f4a10"
OTHER_LINEAGE = "9d0e4b2c-1a3f-4c5d-8e6f-7a8b9c0d1e2f"


def backup_run(report) -> dict:
    [run] = executions(report, "-backup-terraform-state")
    assert run["status"] == "SUCCEEDED"
    return run["output"]


def pagerduty(report, action="trigger") -> list[dict]:
    return [p for p in report["pages"] if p.get("event_action") == action and p.get("http_status") == 202]


def test_daily_backup_writes_both_keys(run_scenario):
    report = run_scenario(
        {"world": {"state": {"serial": 13, "backup": {"serial": 12}}}, "steps": [{"schedule": "backup-terraform-state"}]}
    )
    out = backup_run(report)
    assert out["outcome"] == "backed_up"
    backups = report["world"]["state"]["backups"]
    [dated] = [k for k in backups if k.startswith(DATED_PREFIX) and k != BACKUP]
    assert backups[dated]["serial"] == 13 and backups[BACKUP]["serial"] == 13
    assert [a["operation"] for a in report["actions"]] == ["CopyObject", "CopyObject"]
    assert pagerduty(report) == []  # a good backup pages nobody


def test_serial_regression_is_paged_and_backup_untouched(run_scenario):
    report = run_scenario(
        {"world": {"state": {"serial": 11, "backup": {"serial": 12}}}, "steps": [{"schedule": "backup-terraform-state"}]}
    )
    out = backup_run(report)
    assert out["outcome"] == "serial_regressed"
    assert report["world"]["state"]["backups"] == {BACKUP: {"serial": 12, "lineage": out["state"]["lineage"]}}
    assert report["actions"] == []
    [page] = pagerduty(report)
    assert page["payload"]["severity"] == "warning"  # P2: a schedule's refusal
    assert "serial 11 is lower than the last backup's serial 12" in str(page["payload"])


def test_lineage_change_is_paged_and_backup_untouched(run_scenario):
    report = run_scenario(
        {
            "world": {"state": {"serial": 20, "lineage": OTHER_LINEAGE, "backup": {"serial": 12}}},
            "steps": [{"schedule": "backup-terraform-state"}],
        }
    )
    assert backup_run(report)["outcome"] == "lineage_changed"
    assert report["world"]["state"]["backups"][BACKUP]["serial"] == 12 and report["actions"] == []
    [page] = pagerduty(report)
    assert OTHER_LINEAGE in str(page["payload"])


def test_unchanged_state_is_unchanged_with_no_copy(run_scenario):
    report = run_scenario(
        {"world": {"state": {"serial": 12, "backup": {"serial": 12}}}, "steps": [{"schedule": "backup-terraform-state"}]}
    )
    assert backup_run(report)["outcome"] == "unchanged"
    assert report["actions"] == [] and list(report["world"]["state"]["backups"]) == [BACKUP]
    assert pagerduty(report) == []


def test_no_versioning_is_a_warning_and_a_p3_status_update_not_a_page(run_scenario):
    report = run_scenario(
        {"world": {"state": {"serial": 13, "versioning": False}}, "steps": [{"schedule": "backup-terraform-state"}]}
    )
    out = backup_run(report)
    assert out["outcome"] == "backed_up" and "no versioning" in out["warnings"][0]
    assert [a["severity"] for a in out["alerts"]] == ["P3"]
    assert pagerduty(report) == []
    assert any("no versioning" in n.get("message", str(n)) for n in report["notifications"])


def test_a_stale_dynamodb_lock_is_paged_once_with_the_force_unlock_command(run_scenario):
    report = run_scenario(
        {
            "world": {"locks": [{"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID, "who": "alice@laptop"}]},
            "steps": [{"schedule": "check-state-lock"}, {"schedule": "check-state-lock"}],
        }
    )
    runs = executions(report, "-check-state-lock")
    assert [r["output"]["outcome"] for r in runs] == ["stale_lock", "stale_lock"]
    [page] = pagerduty(report)  # two checks, one page per lock ID
    assert page["dedup_key"] == f"lecture-dhbw/state-lock/{LOCK_ID}"
    details = page["payload"]["custom_details"]
    assert (details["ID"], details["Who"], details["kind"]) == (LOCK_ID, "alice@laptop", "dynamodb")
    assert details["force_unlock"] == f"terraform force-unlock {LOCK_ID}"
    # never removed, and the digest item is never reported as a lock
    assert [(lk["kind"], lk["id"]) for lk in report["world"]["locks"]] == [("dynamodb", LOCK_ID)]


def test_a_stale_tflock_is_paged(run_scenario):
    report = run_scenario(
        {"world": {"locks": [{"kind": "s3", "age_minutes": 500, "id": LOCK_ID}]}, "steps": [{"schedule": "check-state-lock"}]}
    )
    [page] = pagerduty(report)
    assert page["payload"]["custom_details"]["kind"] == "s3"


def test_a_fresh_lock_is_not_paged(run_scenario):
    report = run_scenario(
        {
            "world": {"locks": [{"kind": "dynamodb", "age_minutes": 10, "id": LOCK_ID}]},
            "steps": [{"schedule": "check-state-lock"}],
        }
    )
    [run] = executions(report, "-check-state-lock")
    assert run["output"]["outcome"] == "lock_held"
    assert pagerduty(report) == []


def test_the_digest_item_alone_is_no_lock(run_scenario):
    report = run_scenario({"steps": [{"schedule": "check-state-lock"}]})
    [run] = executions(report, "-check-state-lock")
    assert run["output"]["outcome"] == "no_lock" and run["output"]["locks"] == []
    assert report["world"]["locks"] == [] and report["pages"] == []


def test_the_page_resolves_when_the_lock_is_gone(run_scenario, monkeypatch):
    # given a stale lock paged by a first check
    from sandbox.world import state_lock

    removed = []
    original = state_lock.build

    def build(clients, config, locks, account, region, now=None):
        original(clients, config, locks, account, region, now)
        removed.append(
            lambda: clients("dynamodb").delete_item(
                TableName=config.terraform.lock_table,
                Key={"LockID": {"S": f"{config.terraform.state_bucket}/{config.terraform.state_key}"}},
            )
        )

    monkeypatch.setattr(state_lock, "build", build)
    from sandbox import scenario as scenarios

    original_run = scenarios.run_steps

    def run_steps(scenario, sb):  # a person runs terraform force-unlock between the two checks
        first = scenario.model_copy(update={"steps": scenario.steps[:1]})
        original_run(first, sb)
        removed[0]()
        return original_run(scenario.model_copy(update={"steps": scenario.steps[1:]}), sb)

    monkeypatch.setattr(scenarios, "run_steps", run_steps)
    report = run_scenario(
        {
            "world": {"locks": [{"kind": "dynamodb", "age_minutes": 180, "id": LOCK_ID}]},
            "steps": [{"schedule": "check-state-lock"}, {"schedule": "check-state-lock"}],
        }
    )
    outcomes = [r["output"]["outcome"] for r in executions(report, "-check-state-lock")]
    assert outcomes == ["stale_lock", "no_lock"]
    assert [p["dedup_key"] for p in pagerduty(report, "trigger")] == [f"lecture-dhbw/state-lock/{LOCK_ID}"]
    assert [p["dedup_key"] for p in pagerduty(report, "resolve")] == [f"lecture-dhbw/state-lock/{LOCK_ID}"]
    assert report["world"]["locks"] == []


def test_a_backup_started_by_hand_writes_both_keys(run_scenario):
    report = run_scenario(
        {
            "world": {"state": {"serial": 13}},
            "steps": [{"start": "backup-terraform-state", "input": {"state_key": STATE_KEY, "reason": "before a risky apply"}}],
        }
    )
    assert backup_run(report)["outcome"] == "backed_up"
    assert BACKUP in report["world"]["state"]["backups"]
