"""Diagnosis of the customer's Terraform state: the state object's serial, lineage, size and last change,
and whether its bucket keeps versions. Read-only.

Its IAM is the terraform_state kind's diagnosis_permissions (catalog/kinds.py)."""

import json
from collections.abc import Callable
from typing import Any

from catalog.customer import CustomerConfig


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, state_key: str) -> dict[str, Any]:
    s3, bucket = clients("s3"), config.terraform.state_bucket
    result: dict[str, Any] = {"state": f"s3://{bucket}/{state_key}"}
    # each part on its own: one that fails says why and does not hide the other
    try:
        result["versioning"] = s3.get_bucket_versioning(Bucket=bucket).get("Status") or "never enabled"
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        result["versioning_error"] = f"{type(exc).__name__}: {exc}"
    try:
        obj = s3.get_object(Bucket=bucket, Key=state_key)
        body = obj["Body"].read()
        result.update(size=len(body), last_modified=obj["LastModified"].isoformat(), etag=obj.get("ETag"))
        data = json.loads(body)
        if isinstance(data, dict):
            result.update({k: data.get(k) for k in ("version", "serial", "lineage", "terraform_version")})
        else:
            result["state_error"] = f"the state is JSON but not an object ({type(data).__name__})"
    except Exception as exc:  # noqa: BLE001
        result["state_error"] = f"{type(exc).__name__}: {exc}"
    return result
