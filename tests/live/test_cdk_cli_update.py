"""The pinned CDK CLI's second deploy with a real change (the mode in the customer file), against a live sandbox of
its own: `cdk diff` names the change and the update applies it. Its own module, so its own serve: a `cdk destroy`
elsewhere leaves retained resources (the table, the key, the log groups) that a new stack of the same customer
collides with, as on AWS."""

from tests.live.conftest import CDK_PROFILE as PROFILE
from tests.live.conftest import app_copy, bootstrapped_cdk

SERVE_ARGS: list[str] = []  # the CDK CLI deploys


def test_a_second_deploy_with_a_real_change_updates_the_stack(live_sandbox, tmp_path):
    sb, app = live_sandbox, app_copy(tmp_path)
    cdk = bootstrapped_cdk(sb, app)
    cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    customer_file = app / "customers" / "unilux.yaml"
    customer_file.write_text(customer_file.read_text().replace("mode: enforce ", "mode: dry-run "))
    diff = cdk("diff", "-c", "customer=unilux", check=False)
    assert "AWS::SSM::Parameter" in diff.stdout + diff.stderr
    cdk("deploy", "-c", "customer=unilux", "--require-approval", "never")
    mode = sb.aws(PROFILE, "ssm", "get-parameter", "--name", "/lecture/unilux/remediation/mode")
    assert mode["Parameter"]["Value"] == "dry-run"
