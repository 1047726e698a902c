"""Deploy a synthesized stack into moto: assets to the bootstrap bucket, then CloudFormation CreateStack.

moto's CloudFormation creates the state machines in a backend that does not execute them, so each one
is created again, with its resolved definition, in the executing Step Functions backend.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import moto_gaps  # noqa: F401 - defines the Alarm model before moto caches its model map

BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


@dataclass
class Deployment:
    stack_name: str
    template: dict
    outputs: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)  # logical id -> physical id
    state_machines: dict = field(default_factory=dict)  # name -> arn (executing backend)
    skipped_types: list = field(default_factory=list)  # resource types moto has no model for


def _zip_dir(path: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(path).as_posix())
    return buf.getvalue()


def publish_assets(s3, assembly: Path, stack_name: str) -> None:
    manifest = json.loads((assembly / f"{stack_name}.assets.json").read_text())
    for asset in manifest.get("files", {}).values():
        source = assembly / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip":
            body = _zip_dir(source)
        else:
            body = source.read_bytes()
        for dest in asset["destinations"].values():
            bucket = dest["bucketName"]
            try:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": dest["region"]})
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
            s3.put_object(Bucket=bucket, Key=dest["objectKey"], Body=body)


def deploy(clients, assembly: Path, stack_name: str, parameters: dict[str, str]) -> Deployment:
    ssm, s3, cfn = clients("ssm"), clients("s3"), clients("cloudformation")
    ssm.put_parameter(Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True)
    publish_assets(s3, assembly, stack_name)
    template = json.loads((assembly / f"{stack_name}.template.json").read_text())
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name} did not deploy: {stack['StackStatus']} {stack.get('StackStatusReason')}")
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    }
    deployment = Deployment(
        stack_name=stack_name,
        template=template,
        resources=resources,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
    )
    deployment.state_machines = {name: arn for name, arn in deployed_state_machines(clients, stack_name).items()}
    deployment.skipped_types = unsupported_types(template)
    return deployment


def deployed_state_machines(clients, customer_or_stack: str) -> dict:
    """name -> ARN of the customer's state machines (lecture-<c>-*), as CloudFormation created them in the executing
    backend (moto_gaps.executing_cloudformation_state_machines)."""
    prefix = customer_or_stack.removesuffix("-remediation")
    prefix = prefix if prefix.startswith("lecture-") else f"lecture-{prefix}"
    out, kwargs = {}, {}
    sfn = clients("stepfunctions")
    while True:
        resp = sfn.list_state_machines(**kwargs)
        out.update({m["name"]: m["stateMachineArn"] for m in resp["stateMachines"] if m["name"].startswith(prefix + "-")})
        if not resp.get("nextToken"):
            return dict(sorted(out.items(), key=lambda kv: (kv[0].endswith("-respond"), kv[0])))
        kwargs["nextToken"] = resp["nextToken"]


def unsupported_types(template: dict) -> list[str]:
    """Resource types in the template that moto's CloudFormation skips (with a warning)."""
    from moto.cloudformation.parsing import get_model_map

    known = set(get_model_map())
    return sorted(
        {r["Type"] for r in template["Resources"].values() if r["Type"] not in known and not r["Type"].startswith("AWS::CDK::")}
    )
