"""The state_lock kind's part of the simulated world: the shared lock table (with the state's -md5 digest item,
always there, never a lock) and the locks held on the customer's state, DynamoDB items or an S3 .tflock.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LockWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["dynamodb", "s3"] = "dynamodb"
    age_minutes: float = Field(default=180, ge=0, description="Created = now - age_minutes")
    who: str = "runner@ci-host"
    operation: str = "OperationTypeApply"
    id: str | None = Field(default=None, description="the lock ID; default: a fixed UUID per kind")


KEY = "locks"  # world.locks in scenario files and in the report
Spec = LockWorld
FIELD = (list[LockWorld], Field(default_factory=list, description="locks held on the Terraform state"))
AWS_SERVICES: tuple[str, ...] = ("dynamodb", "s3")  # force-unlock-state removes a lock: before and after


def instance_of(operation: str, params: dict) -> str | None:
    """The whole list of locks, for a removed lock item (keyed by LockID) or a removed .tflock."""
    if operation == "DeleteItem" and "LockID" in params.get("Key", {}):
        return "*"
    if operation == "DeleteObject" and str(params.get("Key", "")).endswith(".tflock"):
        return "*"
    return None


def check(config, locks: list[LockWorld]) -> None:
    """Terraform keeps one lock of each kind per state: one LockID item, one .tflock object."""
    for kind in ("dynamodb", "s3"):
        if sum(1 for lock in locks if lock.kind == kind) > 1:
            raise ValueError(f"world.locks lists more than one {kind} lock; a state has at most one lock of each kind")


def lock_id(lock: LockWorld) -> str:
    return lock.id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-lock/{lock.kind}"))


def build(clients, config, locks: list[LockWorld], account: str, region: str, now: datetime | None = None) -> None:
    from catalog.kinds import lock_path
    from sandbox.world.terraform_state import ensure_bucket

    tf, path = config.terraform, lock_path(config)
    dynamodb = clients("dynamodb")
    dynamodb.create_table(
        TableName=tf.lock_table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # always there while the state exists: its digest, not a lock
    dynamodb.put_item(
        TableName=tf.lock_table, Item={"LockID": {"S": f"{path}-md5"}, "Digest": {"S": "0f343b0931126a20f133d67c2b018a3b"}}
    )
    now = now or datetime.now(UTC)
    for lock in locks:
        info = json.dumps(
            {
                "ID": lock_id(lock),
                "Operation": lock.operation,
                "Info": "",
                "Who": lock.who,
                "Version": "1.9.5",
                "Path": path,
                "Created": (now - timedelta(minutes=lock.age_minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        )
        if lock.kind == "dynamodb":
            dynamodb.put_item(TableName=tf.lock_table, Item={"LockID": {"S": path}, "Info": {"S": info}})
        else:
            s3 = clients("s3")
            ensure_bucket(s3, tf.state_bucket, region)
            s3.put_object(Bucket=tf.state_bucket, Key=f"{tf.state_key}.tflock", Body=info.encode(), IfNoneMatch="*")


def install(patches) -> None:
    """Nothing: moto's DynamoDB and S3 hold locks as Terraform writes them."""


def _entry(kind: str, raw: str) -> dict:
    try:
        info = json.loads(raw)
    except ValueError:
        info = {}
    return {
        "kind": kind,
        "id": info.get("ID"),
        "who": info.get("Who"),
        "operation": info.get("Operation"),
        "created": info.get("Created"),
    }


def snapshot(clients, config) -> list:
    """[{"kind", "id", "who", "operation", "created"}]: every lock item of the state (never its -md5 digest)
    and its .tflock."""
    from catalog.kinds import lock_path

    tf, path = config.terraform, lock_path(config)
    out = []
    items = clients("dynamodb").scan(TableName=tf.lock_table).get("Items", [])
    for item in sorted(items, key=lambda i: i["LockID"]["S"]):
        if item["LockID"]["S"] == path and "Info" in item:
            out.append(_entry("dynamodb", item["Info"]["S"]))
    s3, tflock = clients("s3"), f"{tf.state_key}.tflock"
    listed = s3.list_objects_v2(Bucket=tf.state_bucket, Prefix=tflock).get("Contents", [])
    if any(o["Key"] == tflock for o in listed):
        out.append(_entry("s3", s3.get_object(Bucket=tf.state_bucket, Key=tflock)["Body"].read().decode()))
    return out
