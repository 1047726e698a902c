"""The terraform_state kind's part of the simulated world: the S3 backend's state object, the state bucket's
versioning, and the shared backup bucket with the last backup (.backup).

moto's CopyObject ignores CopySourceIfMatch; ``install`` makes it answer PreconditionFailed as S3 does, so a
state that changes between the check and the copy can be exercised.
"""

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_LINEAGE = "3f1c2a9e-7d4b-4e2a-9c3e-0b8f5a6d1e77"


class BackupWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: int = Field(ge=0)
    lineage: str = Field(default=DEFAULT_LINEAGE, min_length=1)


class TerraformStateWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: int = Field(default=12, ge=0)
    lineage: str = Field(default=DEFAULT_LINEAGE, min_length=1)
    versioning: bool = Field(default=True, description="versioning on the state bucket")
    backup: BackupWorld | None = Field(default=None, description="the last backup (.backup); null: none yet")
    exists: bool = Field(default=True, description="false: no state object at all")
    body: str | None = Field(default=None, description="the state object's raw body instead of a valid state")


KEY = "state"  # world.state in scenario files and in the report
Spec = TerraformStateWorld
FIELD = (
    TerraformStateWorld,
    Field(default_factory=TerraformStateWorld, description="the Terraform state, its versioning and its last backup"),
)
AWS_SERVICES = ("s3",)  # a copy or a restore shows the state and its backups before and after


def instance_of(operation: str, params: dict) -> str | None:
    return "*" if operation in ("CopyObject", "PutObject") else None


def check(config, spec: TerraformStateWorld) -> None:
    """Nothing in world.state can contradict the customer file: its names come from there."""


def state_body(serial: int, lineage: str) -> str:
    """A state as Terraform writes it (the team's terraform-state reference)."""
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.9.5",
            "serial": serial,
            "lineage": lineage,
            "outputs": {},
            "resources": [],
            "check_results": None,
        },
        indent=2,
    )


def ensure_bucket(s3, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - not there yet
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def build(clients, config, spec: TerraformStateWorld, account: str, region: str) -> None:
    s3, tf = clients("s3"), config.terraform
    ensure_bucket(s3, tf.state_bucket, region)
    if spec.versioning:
        s3.put_bucket_versioning(Bucket=tf.state_bucket, VersioningConfiguration={"Status": "Enabled"})
    if spec.exists:
        s3.put_object(
            Bucket=tf.state_bucket,
            Key=tf.state_key,
            Body=(spec.body if spec.body is not None else state_body(spec.serial, spec.lineage)).encode(),
        )
    ensure_bucket(s3, tf.backup_bucket, region)
    if spec.backup is not None:
        from catalog.kinds import backup_key

        s3.put_object(
            Bucket=tf.backup_bucket,
            Key=backup_key(config, "backup"),
            Body=state_body(spec.backup.serial, spec.backup.lineage).encode(),
        )


def install(patches) -> None:
    """CopyObject honours x-amz-copy-source-if-match (moto 5.2.5 checks only if-none-match)."""
    from urllib.parse import parse_qs, unquote, urlparse

    from moto.s3.exceptions import PreconditionFailed
    from moto.s3.responses import S3Response

    original = S3Response.copy_object

    def copy_object(self):
        expected = self.headers.get("x-amz-copy-source-if-match")
        if expected:
            source = self.headers.get("x-amz-copy-source")
            source = source.decode() if isinstance(source, bytes) else source
            parsed = urlparse(source)
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            version = parse_qs(parsed.query).get("versionId", [None])[0]
            found = self.backend.get_object(bucket, key, version_id=version)
            if found is not None and expected.strip('"') != found.etag.strip('"'):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        return original(self)

    patches.set(S3Response, "copy_object", copy_object)


def _read(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # noqa: BLE001 - the report shows what is there, even nothing
        return None


def _parsed(s3, bucket: str, key: str, body: bytes | None = None) -> dict:
    try:
        data = json.loads(body if body is not None else s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return {"serial": data.get("serial"), "lineage": data.get("lineage")}
    except Exception:  # noqa: BLE001 - the report shows what is there, even a broken state
        return {"serial": None, "lineage": None}


def _digest_item(clients, config) -> str | None:
    """The Digest of the lock table's "<bucket>/<key>-md5" item, which Terraform checks the state against."""
    from catalog.kinds import lock_path

    try:
        item = (
            clients("dynamodb")
            .get_item(TableName=config.terraform.lock_table, Key={"LockID": {"S": f"{lock_path(config)}-md5"}})
            .get("Item")
        )
    except Exception:  # noqa: BLE001 - no lock table: no digest
        return None
    return item["Digest"]["S"] if item and "Digest" in item else None


def snapshot(clients, config) -> dict:
    """{"serial", "lineage", "md5", "digest_item", "backups": {"<key>": {"serial", "lineage"}}} (keys under the
    backup prefix; md5: of the state's body, as Terraform digests it; digest_item: the Digest of the lock table's
    -md5 item, which Terraform checks the state against)."""
    s3, tf = clients("s3"), config.terraform
    body = _read(s3, tf.state_bucket, tf.state_key)
    out = _parsed(s3, tf.state_bucket, tf.state_key, body)
    out["md5"] = hashlib.md5(body, usedforsecurity=False).hexdigest() if body is not None else None
    out["digest_item"] = _digest_item(clients, config)
    listed = s3.list_objects_v2(Bucket=tf.backup_bucket, Prefix=tf.backup_prefix).get("Contents", [])
    out["backups"] = {o["Key"]: _parsed(s3, tf.backup_bucket, o["Key"]) for o in sorted(listed, key=lambda o: o["Key"])}
    return out
