"""The pinned CDK CLI against the live sandbox, as an engineer deploys a customer, in the order they would: bootstrap,
deploy, diff, a second deploy with a real change (the mode in the customer file), destroy, and a deploy again after
the destroy. Nothing is deployed by the sandbox itself.

The CDK CLI synthesizes twice (the first deploy, and the diff after the change); the other commands take the
assembly it wrote (`--app cdk.out`), as a pipeline that deploys what it reviewed does."""

import json

from tests.live.conftest import CDK_ACCOUNT as ACCOUNT
from tests.live.conftest import CDK_PROFILE as PROFILE
from tests.live.conftest import app_copy, bootstrapped_cdk

SERVE_ARGS: list[str] = []  # the CDK CLI deploys
STACK = "lecture-unilux-remediation"
ASSEMBLY = ("--app", "cdk.out")


def test_bootstrap_deploy_diff_update_and_destroy(live_sandbox, tmp_path):
    sb, app = live_sandbox, app_copy(tmp_path)
    cdk = bootstrapped_cdk(sb, app)
    deployed = cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    assert (
        f"{STACK}.RespondStateMachine = arn:aws:states:eu-central-1:333333333333:"
        "stateMachine:lecture-unilux-respond" in deployed.stdout + deployed.stderr
    )
    template = json.loads((app / "cdk.out" / f"{STACK}.template.json").read_text())
    alarms = sorted(r["Properties"]["AlarmName"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    assert alarms and sorted(a["AlarmName"] for a in sb.aws(PROFILE, "cloudwatch", "describe-alarms")["MetricAlarms"]) == alarms
    stack = sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", STACK)
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

    unchanged = cdk("diff", *ASSEMBLY)
    assert "There were no differences" in unchanged.stdout + unchanged.stderr

    # a real change: the mode in the customer file. The diff names it, and the second deploy (an UPDATE change set)
    # applies it.
    customer_file = app / "customers" / "unilux.yaml"
    customer_file.write_text(customer_file.read_text().replace("mode: enforce ", "mode: dry-run "))
    diff = cdk("diff", "-c", "customer=unilux", check=False)
    assert "AWS::SSM::Parameter" in diff.stdout + diff.stderr
    cdk("deploy", *ASSEMBLY, STACK, "--require-approval", "never")
    mode = sb.aws(PROFILE, "ssm", "get-parameter", "--name", "/lecture/unilux/remediation/mode")
    assert mode["Parameter"]["Value"] == "dry-run"
    assert sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", STACK)["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )

    cdk("destroy", *ASSEMBLY, STACK, "--force")
    gone = sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", STACK, check=False)
    assert getattr(gone, "returncode", 0) != 0 or gone["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert sb.aws(PROFILE, "stepfunctions", "list-state-machines")["stateMachines"] == []

    # the audit table is retained (DeletionPolicy Retain) under its fixed name: deploying the customer again
    # fails as on AWS, rolled back, with the reason the CDK CLI prints (README, "Retained on stack deletion")
    again = cdk("deploy", *ASSEMBLY, STACK, "--require-approval", "never", check=False)
    assert again.returncode != 0
    assert f"Table already exists: {STACK}" in again.stdout + again.stderr, again.stderr[-3000:]
    rolled_back = sb.aws(PROFILE, "cloudformation", "describe-stacks", "--stack-name", STACK)
    assert rolled_back["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
