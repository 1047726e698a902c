"""The CLI's AWS side: a customer's clients (its profile, its region), and AWS errors in the operator's words.

``Clients`` is a callable service-name -> boto3 client. The CLI makes one per customer from the profile
(lecture-<c>-prod unless --profile); tests and the sandbox pass their own (moto-backed) one instead.
"""

from collections.abc import Callable
from typing import Any

from botocore import exceptions as bx

from catalog import naming

Clients = Callable[[str], Any]
ClientsFor = Callable[[Any, "str | None"], Clients]  # (customer config, --profile) -> Clients

EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
                 "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch"}
# What a missing stack looks like from each service the CLI reads first.
NOT_DEPLOYED_CODES = {"StateMachineDoesNotExist", "ResourceNotFoundException", "ParameterNotFound"}


class CliError(Exception):
    """An error the operator can act on: printed as one line, exit code 1 (2 for a usage error)."""

    exit_code = 1


class UsageError(CliError):
    exit_code = 2


def profile_clients(config: Any, profile: str | None) -> Clients:
    """Clients of the customer's account: the profile's session, in the customer file's region."""
    import boto3

    name = profile or config.aws_profile
    try:
        session = boto3.Session(profile_name=name)
    except bx.ProfileNotFound:
        raise CliError(f"AWS profile {name!r} is not configured (~/.aws/config): add it, or give --profile") from None
    cache: dict[str, Any] = {}

    def clients(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, region_name=config.region)
        return cache[service]

    clients.profile = name  # type: ignore[attr-defined]
    return clients


def explain(exc: Exception, config: Any, profile: str | None) -> CliError | None:
    """An AWS error as a CliError saying what to do, or None when it is not one the CLI knows."""
    who = profile or (config.aws_profile if config is not None else "default")
    login = f"run `aws sso login --profile {who}` (or refresh the profile's keys) and try again"
    if isinstance(exc, bx.ProfileNotFound):
        return CliError(f"AWS profile {who!r} is not configured (~/.aws/config): add it, or give --profile")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return CliError(f"no AWS credentials for profile {who!r}: {login}")
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError):
        return CliError(f"the AWS SSO session of profile {who!r} has expired: {login}")
    if isinstance(exc, bx.EndpointConnectionError):
        return CliError(f"cannot reach AWS ({exc}): check the network and the region")
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in EXPIRED_CODES:
            return CliError(f"the AWS credentials of profile {who!r} are expired or invalid ({code}): {login}")
        if code in NOT_DEPLOYED_CODES and config is not None:
            return not_deployed(config)
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            return CliError(f"profile {who!r} may not do this: {exc.response['Error'].get('Message', code)}")
    return None


def not_deployed(config: Any) -> CliError:
    stack = naming.stack_name(config.customer)
    return CliError(f"the stack {stack} is not deployed in {config.account}/{config.region}? "
                    f"run npx cdk deploy -c customer={config.customer}")


def error_code(exc: Exception) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, bx.ClientError) else ""


def is_aws_error(exc: Exception) -> bool:
    return isinstance(exc, bx.BotoCoreError | bx.ClientError)
