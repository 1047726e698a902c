"""`python cli.py status --all` against the fleet (issue 16): from the ops account's fleet table in one call when
the ops stack is deployed, else each customer's own account, as before."""

from tests.conftest import FLEET
from tests.e2e.test_fleet import down


def _status_all(sb, *, ops: bool, calls: list | None = None):
    import io
    import json

    from operators import cli

    def ops_client(service):  # the calls made to the ops account, counted
        client = sb.ops.client(service)
        client.meta.events.register("before-call.*.*", lambda model, **kw: calls.append(model.name), unique_id="count")
        return client

    def clients_for(config, profile):  # each account's own credentials, as its profile in .sandbox/aws-config
        if config.customer == "ops":
            if not ops:
                raise RuntimeError("profile lecture-ops is not configured")
            return ops_client
        return sb.tenant(config.customer).client

    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["status", "--all", "--output", "json"], None, clients_for=clients_for, out=out, err=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def test_status_all_reads_the_fleet_table_in_one_call(fleet):
    down(fleet, "dhbw")
    fleet.finish()
    calls: list = []
    code, rows, err = _status_all(fleet, ops=True, calls=calls)
    made = list(calls)  # what the CLI called (the report below reads the same account)
    assert code == 0 and [r["customer"] for r in rows] == FLEET
    by = {r["customer"]: r for r in rows}
    assert by["dhbw"]["source"] == "ops" and by["dhbw"]["reachable"] and by["dhbw"]["mode"] == "enforce"
    assert by["dhbw"]["open_incidents"] == [fleet.ops_report()["down"][0]["incident_id"]]
    assert by["dhbw"]["last_outcome"] == "paged"
    assert by["edt"]["reachable"] is False and by["edt"]["open_incidents"] == []
    assert made == ["GetCallerIdentity", "Query"]  # the account checked, then one Query
    assert err == ""


def test_status_all_falls_back_to_each_customers_account_without_the_ops_stack(fleet):
    code, rows, err = _status_all(fleet, ops=False)
    assert code == 0 and [r["customer"] for r in rows] == FLEET
    assert all("source" not in r and "ecs" in r for r in rows)  # the per-customer rows, as before
    # and it says so, with the reason: not silently another source
    assert err == (
        "not from the ops account's fleet table (profile lecture-ops is not configured): from each customer's own account\n"
    )
