"""Diagnosis of a Terraform state lock: the locks held now (DynamoDB item and S3 .tflock), their age and
whether they are stale. Read-only; never the -md5 digest item.

Its IAM is the state_lock kind's diagnosis_permissions (catalog/kinds.py)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from catalog.customer import CustomerConfig
from lambdas.logic.state_locks import find_locks


def diagnose(clients: Callable[[str], Any], config: CustomerConfig, lock_path: str) -> dict[str, Any]:
    tf = config.terraform
    notes: list[str] = []
    try:
        locks = find_locks(
            clients("dynamodb"),
            clients("s3"),
            table=tf.lock_table,
            bucket=tf.state_bucket,
            key=tf.state_key,
            now=datetime.now(UTC),
            stale_after_minutes=tf.stale_lock_minutes,
            notes=notes,
        )
    except Exception as exc:  # noqa: BLE001 - a diagnosis gap is reported on the page, never fatal
        return {"lock_path": lock_path, "error": f"diagnosis unavailable: {type(exc).__name__}: {exc}"}
    return {
        "lock_path": lock_path,
        "stale_after_minutes": tf.stale_lock_minutes,
        "locks": [lock.to_json() for lock in locks],
        **({"notes": notes} if notes else {}),
    }
