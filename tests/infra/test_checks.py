"""cdk-nag, cfn-lint, the Lambda asset, and the CDK entry point."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from sandbox.synth import QUIET_NODE, ROOT


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized):
    outdir = synthesized
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    [nag] = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag.get("violations", []) == []


def test_cdk_nag_gate_would_catch_a_wildcard_write(tmp_path):
    # given a stack with a write action on '*' and no acknowledgement
    application = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(application, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["ecs:UpdateService"], resources=["*"]))
    cdk.Validations.of(application).add_plugins(AwsSolutionsChecks(application))
    # then synth fails on it
    with pytest.raises(Exception, match=r"IAM5\[Resource::\*\]"):
        application.synth()


def test_cfn_lint_reports_no_errors(synthesized):
    outdir = synthesized
    templates = sorted(str(p) for p in Path(outdir).glob("*.template.json"))
    assert len(templates) == 4  # the three customers and the ops stack
    # cfn-lint 1.x has no `python -m cfnlint`: its console script (a failed start must fail the test, not pass it)
    proc = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *templates], capture_output=True, text=True)
    errors = [line for line in proc.stdout.splitlines() if line[:1] == "E" and line[1:5].isdigit()]
    assert errors == [] and proc.returncode & 2 == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert proc.returncode in (0, 4, 8, 12), proc.stderr  # 4/8: warnings or informational only


def test_lambda_asset_holds_only_runtime_code_and_is_small(synthesized):
    outdir = synthesized
    manifest = json.loads((Path(outdir) / "lecture-dhbw-remediation.assets.json").read_text())
    [code] = [a for a in manifest["files"].values() if a["source"].get("packaging") == "zip"]
    folder = Path(outdir) / code["source"]["path"]
    top = sorted(p.name for p in folder.iterdir())
    assert top == ["catalog", "lambdas"]
    # the deployment package Lambda receives is the zip: at most 200 KiB (a bundled dependency would be megabytes)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    assert len(buf.getvalue()) < 200 * 1024
    assert not list(folder.rglob("__pycache__"))


def _run(cmd, **env):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **QUIET_NODE, **env}, timeout=300)


def test_unknown_customer_fails_with_the_known_ones_listed(tmp_path):
    proc = _run([sys.executable, "app.py"], CDK_OUTDIR=str(tmp_path), CDK_CONTEXT_JSON='{"customer": "nope"}')
    assert proc.returncode == 1
    assert "unknown customer 'nope'" in proc.stderr and "dhbw, edt, unilux" in proc.stderr


def test_pinned_cdk_cli_synthesizes_one_customer(tmp_path, synthesized):
    proc = _run(["npx", "--no-install", "cdk", "synth", "-c", "customer=edt", "--quiet", "--output", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == ["lecture-edt-remediation.template.json"]
    # one customer's stack is the one the whole app's assembly holds (the sandbox and these tests use that one),
    # but for what the CLI adds of its own: each resource's aws:cdk:path and the CDKMetadata version report
    one = json.loads((tmp_path / "lecture-edt-remediation.template.json").read_text())
    assert one["Resources"].pop("CDKMetadata")["Type"] == "AWS::CDK::Metadata"
    one.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    for resource in one["Resources"].values():
        assert set(resource.pop("Metadata", {})) <= {
            "aws:cdk:path",
            "aws:asset:path",
            "aws:asset:is-bundled",
            "aws:asset:property",
        }
    assert one == json.loads((synthesized / "lecture-edt-remediation.template.json").read_text())
