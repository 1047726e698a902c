"""Powertools objects, module level and shared by every handler.

No Powertools Tracer: Lambda's active tracing records each invocation without the X-Ray SDK, whose
import alone costs more than boto3's (see `make bench`).
"""

from aws_lambda_powertools import Logger, Metrics

SERVICE = "lecture-remediation"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LectureRemediation", service=SERVICE)
