"""Issue 7 through the deployed stack: teams, links, change events, scripted PagerDuty replies, the SNS fallback."""

from tests.e2e.conftest import CPU_HIGH, executions

ALARM = {"alarm": CPU_HIGH, "state": "ALARM"}
OK = {"alarm": CPU_HIGH, "state": "OK"}  # before respond's re-check: no escalation


def test_a_scale_pages_its_team_with_links_and_makes_a_change_event(run_scenario):
    report = run_scenario({"steps": [ALARM, OK]})
    # then the page and the change event, both accepted, both to the infrastructure team (then the resolve)
    assert [(p["kind"], p["team"], p["http_status"]) for p in report["pages"]] == [
        ("trigger", "infrastructure", 202),
        ("change", "infrastructure", 202),
        ("resolve", "infrastructure", 202),
    ]
    trigger, change, _ = report["pages"]
    assert trigger["payload"]["custom_details"]["team"] == "infrastructure"
    respond = executions(report, "-respond")[0]
    links = [link["href"] for link in trigger["links"]]
    assert links[0].endswith(f"#alarmsV2:alarm/{CPU_HIGH}")
    assert "/ecs/v2/clusters/lecture-dhbw-cluster/services/lecture-backend-service/" in links[1]
    assert links[2].endswith(f":execution:lecture-dhbw-respond:{respond['name']}")
    assert change["payload"]["summary"].startswith("lecture-dhbw lecture-backend-service: scale-ecs-service scaled")
    # and status updates carry the attributes subscribers filter on
    assert {
        (n["attributes"]["customer"], n["attributes"]["team"], n["attributes"]["severity"]) for n in report["notifications"]
    } == {("dhbw", "infrastructure", "P2")}
    assert report["sns_pages"] == []
    assert "PagerDuty change event -> HTTP 202" in report["_timeline"]


def test_429_429_then_202_gives_exactly_one_alert(run_scenario):
    report = run_scenario({"world": {"pagerduty": {"responses": [429, 429, 202]}}, "steps": [ALARM, OK]})
    assert [(p["kind"], p["http_status"]) for p in report["pages"]] == [
        ("trigger", 429),
        ("trigger", 429),
        ("trigger", 202),
        ("change", 202),
        ("resolve", 202),
    ]
    assert [p["kind"] for p in report["pages"] if p["http_status"] == 202] == ["trigger", "change", "resolve"]
    assert {e["status"] for e in report["executions"]} == {"SUCCEEDED"}
    assert report["sns_pages"] == []


def test_a_persistent_500_falls_back_to_sns_and_the_execution_fails_loudly(run_scenario):
    report = run_scenario({"world": {"pagerduty": {"responses": [500] * 12}}, "steps": [ALARM]})
    assert report["pages"] and {p["http_status"] for p in report["pages"]} == {500}
    # the on-call learns of it from the topic: the page that could not be sent, marked as a fallback
    assert report["sns_pages"]
    first = report["sns_pages"][0]
    assert first["attributes"]["kind"] == "page-fallback" and first["attributes"]["team"] == "infrastructure"
    assert "Summary: [P2] lecture-dhbw lecture-backend-service: ECS service CPU utilisation is high" in first["message"]
    # and the execution ends failed, loudly, with the service still scaled
    [respond] = executions(report, "-respond")
    assert respond["status"] == "FAILED" and "PagingFailed" in respond["cause"]
    assert report["world"]["ecs"]["lecture-backend-service"]["desired"] == 3
