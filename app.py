#!/usr/bin/env python3
"""CDK entry point: one stack per customer and the ops stack (all by default; one with -c customer=<name>, the ops
stack with -c customer=ops)."""

import json
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from customers import OPS, CustomerConfigError, has_ops, load_all, load_customer, load_ops
from stacks.ops_stack import OpsStack
from stacks.remediation_stack import RemediationStack

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def feature_flags() -> dict:
    """cdk.json's context (the recommended feature flags), also when the app is built without the CLI."""
    return json.loads(CDK_JSON.read_text()).get("context", {})


def build_app(customer: str | None = None, outdir: str | None = None) -> cdk.App:
    # Context given here is overridden by the CLI's (-c ...), which includes cdk.json's anyway.
    app = cdk.App(outdir=outdir, context=feature_flags()) if outdir else cdk.App(context=feature_flags())
    customer = customer or app.node.try_get_context("customer")
    ops = load_ops() if has_ops() else None  # the fleet (customers/ops.yaml): -c customer=ops is its stack
    if ops is not None and customer in (None, OPS):
        OpsStack(app, ops=ops, customers=load_all())
    configs = [] if customer == OPS else [load_customer(customer)] if customer else load_all()
    for config in configs:
        RemediationStack(app, config=config, ops=ops)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> int:
    try:
        app = build_app()
    except CustomerConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
