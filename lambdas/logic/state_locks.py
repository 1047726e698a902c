"""Terraform S3 backend locks, as Terraform writes them (read-only).

Two kinds (see the team's terraform-state reference): the DynamoDB item LockID = "<bucket>/<key>" with the
lock info JSON in ``Info``, and the S3 object "<key>.tflock" whose body is the same JSON. The item
"<bucket>/<key>-md5" holds the state's digest and is never a lock: only the exact LockID is read.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from lambdas.models.steps import StateLock

_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python 3.11 parses at most microseconds


def parse_created(text: str) -> datetime | None:
    try:
        created = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def lock_from_info(kind: Literal["dynamodb", "s3"], raw: str, now: datetime, stale_after_minutes: int) -> StateLock:
    """A lock from its info JSON; an unreadable one is still a lock (someone holds it), of unknown age."""
    try:
        info = json.loads(raw)
    except (TypeError, ValueError):
        info = None
    if not isinstance(info, dict):
        return StateLock(kind=kind, id="", who="", operation="", created="", stale=False)
    created_text = str(info.get("Created") or "")
    created = parse_created(created_text) if created_text else None
    age = round((now - created).total_seconds() / 60, 1) if created else None
    lock_id = str(info.get("ID") or "")
    return StateLock(
        kind=kind,
        id=lock_id,
        who=str(info.get("Who") or ""),
        operation=str(info.get("Operation") or ""),
        created=created_text,
        age_minutes=age,
        stale=age is not None and age > stale_after_minutes,
        unlock_command=f"terraform force-unlock {lock_id}" if lock_id else "",
    )


def dynamodb_lock(
    dynamodb: Any, table: str, lock_path: str, now: datetime, stale_after_minutes: int, notes: list[str]
) -> StateLock | None:
    try:
        item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": lock_path}}, ConsistentRead=True).get("Item")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        notes.append(f"lock table {table} does not exist: no DynamoDB locks")
        return None
    if not item:
        return None
    lock = lock_from_info("dynamodb", str(item.get("Info", {}).get("S", "")), now, stale_after_minutes)
    if not lock.id:
        notes.append(f"the DynamoDB lock {lock_path} in {table} has no readable Info; its age is unknown")
    return lock


def s3_lock(s3: Any, bucket: str, key: str, now: datetime, stale_after_minutes: int, notes: list[str]) -> StateLock | None:
    """<key>.tflock, listed first: without ListBucket a missing object answers 403, not 404."""
    tflock = f"{key}.tflock"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=tflock, MaxKeys=1).get("Contents", [])
    if not any(o.get("Key") == tflock for o in listed):
        return None
    try:
        body = s3.get_object(Bucket=bucket, Key=tflock)["Body"].read().decode("utf-8", errors="replace")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None  # released between the listing and the read
        raise
    lock = lock_from_info("s3", body, now, stale_after_minutes)
    if not lock.id:
        notes.append(f"s3://{bucket}/{tflock} is not readable lock info; its age is unknown")
    return lock


def unreadable(exc: ClientError, *, table: str, bucket: str) -> str:
    """Why the locks could not be read, in one sentence: the state bucket (S3) or the lock table (DynamoDB) is
    missing or not readable; the code and the operation as AWS named them."""
    code = str(exc.response.get("Error", {}).get("Code", "")) or "error"
    operation = getattr(exc, "operation_name", "") or "?"
    if code in ("NoSuchBucket", "404"):
        return f"the state bucket s3://{bucket} does not exist ({code} in {operation})"
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return f"the state bucket s3://{bucket} is not readable ({code} in {operation})"
    where = f"the lock table {table}" if operation in ("GetItem", "Query", "Scan") else f"s3://{bucket}"
    return f"{where} is not readable ({code} in {operation})"


def find_locks(
    dynamodb: Any, s3: Any, *, table: str, bucket: str, key: str, now: datetime, stale_after_minutes: int, notes: list[str]
) -> list[StateLock]:
    """Both kinds of lock on one state: the DynamoDB item, then the .tflock object."""
    lock_path = f"{bucket}/{key}"
    found = [
        dynamodb_lock(dynamodb, table, lock_path, now, stale_after_minutes, notes),
        s3_lock(s3, bucket, key, now, stale_after_minutes, notes),
    ]
    return [lock for lock in found if lock is not None]


def dynamodb_lock_info(dynamodb: Any, table: str, lock_path: str) -> str | None:
    """The exact Info of the lock item LockID = lock_path ("" when it has none); None: no lock item (or no
    lock table)."""
    try:
        item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": lock_path}}, ConsistentRead=True).get("Item")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return None
    if not item:
        return None
    return str(item.get("Info", {}).get("S", ""))


def tflock_object(s3: Any, bucket: str, key: str) -> tuple[str, str] | None:
    """(body, ETag) of <key>.tflock, listed first (a 403 is not a 404 without ListBucket); None: no .tflock."""
    tflock = f"{key}.tflock"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=tflock, MaxKeys=1).get("Contents", [])
    if not any(o.get("Key") == tflock for o in listed):
        return None
    try:
        obj = s3.get_object(Bucket=bucket, Key=tflock)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None  # released between the listing and the read
        raise
    return obj["Body"].read().decode("utf-8", errors="replace"), str(obj["ETag"])
