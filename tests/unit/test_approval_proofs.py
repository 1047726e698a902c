"""The proofs an approval rests on (catalog/proofs.py, lambdas/logic/identity.py, operators/identity.py): who may
approve, a plan's digest, and a caller's identity as STS vouches for it (moto, with the sandbox's signature check)."""

import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from catalog import proofs
from catalog.customer import ApprovalsConfig
from lambdas.errors import IdentityNotProven
from lambdas.logic import identity
from operators.identity import sign
from sandbox.moto_gaps import Patches, sts_checks_signatures, sts_over_https

REGION = "eu-central-1"
ROLE_PATTERNS = ("arn:aws:iam::111111111111:role/lecture-dhbw-approver", "arn:aws:iam::111111111111:user/approvers/*")


@pytest.mark.parametrize(
    "arn, named",
    [
        ("arn:aws:iam::111111111111:user/approvers/alice", True),
        ("arn:aws:sts::111111111111:assumed-role/lecture-dhbw-approver/alice@example.org", True),  # the role's session
        ("arn:aws:iam::111111111111:user/sandbox-operator", False),
        ("arn:aws:iam::111111111111:user/approvers-not/mallory", False),
        ("arn:aws:iam::222222222222:user/approvers/alice", False),  # another account
        ("arn:aws:sts::111111111111:assumed-role/lecture-dhbw-approver-x/s", False),
    ],
)
def test_an_approver_is_a_principal_the_patterns_name(arn, named):
    assert proofs.matches(arn, ROLE_PATTERNS) is named


def test_the_customer_file_names_approvers_as_arn_patterns_and_at_least_one_approval():
    assert ApprovalsConfig().min_approvals == 1 and ApprovalsConfig().approvers == ()
    for bad in ({"approvers": ["alice"]}, {"approvers": ["arn:aws:s3:::bucket"]}, {"min_approvals": 0}):
        with pytest.raises(ValueError):
            ApprovalsConfig.model_validate(bad)


def test_a_plans_digest_ignores_who_approved_and_changes_with_anything_else():
    plan = {"runbook": "tune-lambda", "memory_to": 1024, "function": "f"}
    assert proofs.plan_digest(plan) == proofs.plan_digest({**plan, "approval": {"by": "x"}})
    assert proofs.plan_digest(plan) == proofs.plan_digest(dict(reversed(list(plan.items()))))
    assert proofs.plan_digest(plan) != proofs.plan_digest({**plan, "memory_to": 2048})


@pytest.fixture
def sts_world():
    """moto, with STS checking signatures and a Lambda's HTTPS request reaching it (as in the sandbox)."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    patches = Patches()
    with mock_aws():
        sts_checks_signatures(patches)
        sts_over_https(patches)
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="alice", Path="/approvers/")
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        sts = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        ).client("sts")
        try:
            yield sts
        finally:
            patches.undo()
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_a_signed_request_proves_who_signed_it_for_that_purpose_only(sts_world):
    # given alice's proof for one purpose
    proof = sign(sts_world, REGION, "purpose-1")
    assert set(proof["headers"]) <= {"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Content-Type"}
    # when it is checked for that purpose, STS names her
    caller = identity.verify(proof, region=REGION, purpose="purpose-1")
    assert caller.arn.endswith(":user/approvers/alice") and len(caller.account) == 12
    # and for another purpose (another answer) STS refuses the signature
    with pytest.raises(IdentityNotProven, match="SignatureDoesNotMatch"):
        identity.verify(proof, region=REGION, purpose="purpose-2")


def test_a_proof_that_is_old_unsigned_or_for_another_region_is_refused(sts_world):
    proof = sign(sts_world, REGION, "p")
    with pytest.raises(IdentityNotProven, match="more than 5 minutes"):
        identity.verify(proof, region=REGION, purpose="p", now=datetime.now(UTC) + timedelta(minutes=6))
    with pytest.raises(IdentityNotProven, match="not sts in us-east-1"):
        identity.verify(proof, region="us-east-1", purpose="p")
    with pytest.raises(IdentityNotProven, match="no proof of identity"):
        identity.verify({"by": "arn:aws:iam::111111111111:user/approvers/alice"}, region=REGION, purpose="p")
    forged = {"headers": {**proof["headers"], "Authorization": proof["headers"]["Authorization"][:-8] + "00000000"}}
    with pytest.raises(IdentityNotProven, match="SignatureDoesNotMatch"):
        identity.verify(forged, region=REGION, purpose="p")
