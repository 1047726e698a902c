"""The pinned CDK CLI against the live sandbox, as an engineer deploys a customer: bootstrap, deploy, diff, a second
deploy with a real change (the mode in the customer file), destroy. Nothing is deployed by the sandbox itself."""

import json
import shutil
import sys

import pytest

from tests.live.conftest import ROOT

SERVE_ARGS: list[str] = []  # the CDK CLI deploys
PROFILE = "lecture-unilux-prod"
ACCOUNT = "333333333333"
APP_PARTS = ("app.py", "cdk.json", "package.json", "catalog", "customers", "stacks", "lambdas")


def app_copy(tmp_path):
    """The CDK app in a folder of its own, so the test can change a customer file without touching the checkout."""
    app = tmp_path / "app"
    app.mkdir()
    for part in APP_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, app / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, app / part)
    (app / "node_modules").symlink_to(ROOT / "node_modules")
    cdk_json = json.loads((app / "cdk.json").read_text())  # its app runs with this interpreter (.venv's)
    cdk_json["app"] = f"{sys.executable} app.py"
    (app / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    return app


def test_bootstrap_deploy_diff_and_destroy(live_sandbox, tmp_path):
    sb, app = live_sandbox, app_copy(tmp_path)

    def cdk(*args: str, check: bool = True):
        return sb.run("npx", "cdk", *args, "--profile", PROFILE, cwd=app, timeout=900, check=check)

    cdk("bootstrap", f"aws://{ACCOUNT}/eu-central-1")
    deployed = cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    assert (
        "lecture-unilux-remediation.RespondStateMachine = arn:aws:states:eu-central-1:333333333333:"
        "stateMachine:lecture-unilux-respond" in deployed.stdout + deployed.stderr
    )
    template = json.loads((app / "cdk.out" / "lecture-unilux-remediation.template.json").read_text())
    alarms = sorted(r["Properties"]["AlarmName"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert alarms and sorted(a["AlarmName"] for a in sb.aws(PROFILE, "cloudwatch", "describe-alarms")["MetricAlarms"]) == alarms
    stack = sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", "lecture-unilux-remediation")
    outputs = {o["OutputKey"] for o in stack["Stacks"][0]["Outputs"]}
    assert {o for o in template["Outputs"] if not o.startswith("CDK")} <= outputs
    # the deployed workflows run: a console-style start of the health check ends
    started = sb.aws(
        PROFILE,
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        f"arn:aws:states:eu-central-1:{ACCOUNT}:stateMachine:lecture-unilux-health-check",
        "--input",
        json.dumps({"reason": "after the first deploy"}),
    )
    done = sb.wait_for(
        lambda: (
            (d := sb.aws(PROFILE, "stepfunctions", "describe-execution", "--execution-arn", started["executionArn"]))["status"]
            != "RUNNING"
            and d
        ),
        what="the health check",
    )
    assert done["status"] == "SUCCEEDED", done

    unchanged = cdk("diff", "-c", "customer=unilux")
    assert "There were no differences" in unchanged.stdout + unchanged.stderr

    cdk("destroy", "-c", "customer=unilux", "--force")
    gone = sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", "lecture-unilux-remediation", check=False)
    assert getattr(gone, "returncode", 0) != 0 or gone["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert sb.aws(PROFILE, "stepfunctions", "list-state-machines")["stateMachines"] == []


@pytest.mark.xfail(
    strict=False,
    reason="known gap, order-dependent: after the first test's `cdk destroy` the retained table and log groups "
    "(DeletionPolicy Retain) stay, moto's CREATE change set ignores the collision, and the update then fails "
    "('Table already exists', answered in JSON: the CDK CLI reports an XML parse error); passes alone",
)
def test_a_second_deploy_with_a_real_change_updates_the_stack(live_sandbox, tmp_path):
    sb, app = live_sandbox, app_copy(tmp_path)

    def cdk(*args: str, check: bool = True):
        return sb.run("npx", "cdk", *args, "--profile", PROFILE, cwd=app, timeout=900, check=check)

    cdk("bootstrap", f"aws://{ACCOUNT}/eu-central-1")
    cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    customer_file = app / "customers" / "unilux.yaml"
    customer_file.write_text(customer_file.read_text().replace("mode: enforce ", "mode: dry-run "))
    diff = cdk("diff", "-c", "customer=unilux", check=False)
    assert "AWS::SSM::Parameter" in diff.stdout + diff.stderr
    cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    mode = sb.aws(PROFILE, "ssm", "get-parameter", "--name", "/lecture/unilux/remediation/mode")
    assert mode["Parameter"]["Value"] == "dry-run"
