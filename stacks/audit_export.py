"""The audit trail's daily export (docs/audit.md): an S3 bucket with Object Lock in compliance mode (the customer
file's audit_export.retention_days), a schedule rule (audit_export.time, UTC) and the export function that writes
the day before's audit rows, with their digests, as one JSON Lines object. Nobody, the account's root user
included, can delete an object or shorten its retention before it ends."""

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from catalog import CustomerConfig, naming
from stacks.foundation import Foundation
from stacks.nag import acknowledge, acknowledge_wildcards, arn_of


class AuditExport(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: CustomerConfig, foundation: Foundation, dead_letters: sqs.IQueue
    ) -> None:
        super().__init__(scope, construct_id)
        c = config
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=naming.audit_export_bucket(c.customer, c.account),
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(Duration.days(c.audit_export.retention_days)),
            versioned=True,  # (Object Lock needs it)
            encryption=s3.BucketEncryption.KMS,
            encryption_key=foundation.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,  # locked objects outlive the stack
        )
        acknowledge(
            self.bucket,
            "S1",
            "Written once a day by the export function only, and locked: the object versions and CloudTrail are its "
            "access record; a log bucket would be a second bucket to protect",
        )
        self.function = foundation.function(
            self,
            "Function",
            component=naming.AUDIT_EXPORT_COMPONENT,
            handler="lambdas.handlers.audit_export.handler",
            statements=[iam.PolicyStatement(actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects("audit/*")])],
            timeout_seconds=300,
        )
        self.function.add_environment("AUDIT_EXPORT_BUCKET", self.bucket.bucket_name)
        # the audit rows of a day: a Scan (IAM cannot scope a Scan by key; the function filters on audit#)
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[foundation.table.table_arn]))
        foundation.key.grant_encrypt_decrypt(self.function)
        acknowledge_wildcards(
            self.function.role,
            [f"Resource::{arn_of(self.bucket)}/audit/*"],
            "the export's objects, one per day (audit/<yyyy>/<mm>/<dd>.jsonl)",
        )
        hour, minute = c.audit_export.time.split(":")
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=naming.rule_name(c.customer, naming.AUDIT_EXPORT_COMPONENT),
            schedule=events.Schedule.cron(minute=str(int(minute)), hour=str(int(hour))),
            description=f"daily at {c.audit_export.time} UTC: the day before's audit rows -> {self.bucket.bucket_name}",
            targets=[
                targets.LambdaFunction(
                    self.function, dead_letter_queue=dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                )
            ],
        )
