"""Powertools objects, module level and shared by every handler."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "lecture-remediation"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LectureRemediation", service=SERVICE)
tracer = Tracer(service=SERVICE)
