"""boto3 clients, created on first use and reused across invocations of a warm Lambda."""

import functools
import os
from typing import Any

import boto3


def client(service: str) -> Any:  # no boto3 stubs: clients are untyped
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _client(service, region)


@functools.cache
def _client(service: str, region: str | None) -> Any:
    return boto3.client(service, region_name=region)


def resource_table(name: str) -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _dynamodb(region).Table(name)


@functools.cache
def _dynamodb(region: str | None) -> Any:
    return boto3.resource("dynamodb", region_name=region)


def error_code(exc: Exception) -> str:
    """A botocore ClientError's code ("NoSuchKey", "DBClusterNotFoundFault", "412" ...); "" for anything else."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
