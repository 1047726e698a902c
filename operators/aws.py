"""The CLI's AWS side: a customer's clients (its credentials, its region, checked to be of its account), and AWS
errors in the operator's words.

``Clients`` is a callable service-name -> boto3 client. The CLI makes one per customer (``profile_clients``):
--profile if given; else the customer's profile (lecture-<c>-prod) if it is configured; else the default credential
chain (environment, AWS_PROFILE, SSO, an instance or container role). boto3 itself honours AWS_ENDPOINT_URL and a
profile's ``endpoint_url``. Tests and the sandbox pass their own (moto-backed) one instead. Either way the CLI wraps
them in ``AccountClients``: sts:GetCallerIdentity must name the customer's account before any other call.
"""

import os
from collections.abc import Callable
from typing import Any

from botocore import exceptions as bx

from catalog import naming

Clients = Callable[[str], Any]
ClientsFor = Callable[[Any, "str | None"], Clients]  # (customer config, --profile) -> Clients

EXPIRED_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
}
# What a missing stack looks like from each service the CLI reads first.
NOT_DEPLOYED_CODES = {"StateMachineDoesNotExist", "ResourceNotFoundException", "ParameterNotFound"}
# botocore's name of where the default chain found the credentials -> the operator's
CREDENTIAL_METHODS = {
    "env": "environment variables",
    "shared-credentials-file": "~/.aws/credentials",
    "config-file": "~/.aws/config",
    "sso": "SSO",
    "assume-role": "an assumed role",
    "assume-role-with-web-identity": "a web identity",
    "iam-role": "the instance role",
    "container-role": "the container role",
    "custom-process": "a credential_process",
}


class CliError(Exception):
    """An error the operator can act on: printed as one line, exit code 1 (2 for a usage error)."""

    exit_code = 1


class UsageError(CliError):
    exit_code = 2


class WrongAccount(CliError):
    """The credentials are of another account than the customer's: nothing was done."""

    exit_code = 2


class AccountClients:
    """A customer's clients (``make``: service -> client) that hand out no client before sts:GetCallerIdentity has
    said they are of the customer's account (once: the answer is kept). ``source`` says where the credentials come
    from (profile 'lecture-dhbw-prod', the default credential chain (environment variables), ...); ``profile`` is
    the profile to log in with, if any."""

    def __init__(self, make: Clients, config: Any, source: str, profile: str | None):
        self._make, self.config, self.source, self.profile = make, config, source, profile
        self.identity: dict[str, Any] | None = None

    def __call__(self, service: str) -> Any:
        self.caller()
        return self._make(service)

    def caller(self) -> dict[str, Any]:
        """sts:GetCallerIdentity (Account, Arn, UserId), checked against the customer's account."""
        if self.identity is None:
            identity = self._make("sts").get_caller_identity()
            got, expected = str(identity.get("Account", "")), str(self.config.account)
            if got != expected:
                raise WrongAccount(
                    f"wrong AWS account for customer {self.config.customer}: expected {expected} "
                    f"(customers/{self.config.customer}.yaml), got {got} from {self.source}; nothing was done "
                    f"(use the customer's credentials, e.g. --profile {self.config.aws_profile})"
                )
            self.identity = identity
        return self.identity


_LOADER: list[Any] = []  # botocore's loader of the service models, shared by every customer's session


def _botocore_session() -> Any:
    """A botocore session that reads the service models once per process (``status --all`` makes one session
    per customer; each would otherwise load and parse the same JSON again)."""
    import botocore.session

    session = botocore.session.Session()
    if _LOADER:
        session.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(session.get_component("data_loader"))
    return session


def profile_clients(config: Any, profile: str | None) -> AccountClients:
    """Clients of the customer's account, in the customer file's region: --profile if given; else the customer's
    profile if it is configured; else the default credential chain."""
    import boto3

    if profile:
        try:
            session = boto3.Session(botocore_session=_botocore_session(), profile_name=profile)
            session._session.get_scoped_config()  # an unknown profile is named now, not at the first call
        except bx.ProfileNotFound:
            raise CliError(
                f"AWS profile {profile!r} is not configured (~/.aws/config): add it, or give another --profile"
            ) from None
        source, login = f"profile {profile!r}", profile
    elif config.aws_profile in (base := _botocore_session()).available_profiles:  # ~/.aws/config and credentials
        session = boto3.Session(botocore_session=base, profile_name=config.aws_profile)
        source, login = f"profile {config.aws_profile!r}", config.aws_profile
    else:
        env_profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
        try:
            session = boto3.Session(botocore_session=_botocore_session())
            credentials = session.get_credentials()
        except bx.ProfileNotFound:
            raise CliError(
                f"AWS profile {env_profile!r} (AWS_PROFILE) is not configured (~/.aws/config): set "
                f"AWS_PROFILE to a configured one, or give --profile"
            ) from None
        if credentials is None:
            raise CliError(
                f"no AWS credentials for customer {config.customer}: its profile {config.aws_profile!r} "
                "is not configured (~/.aws/config) and the default credential chain (environment, "
                "AWS_PROFILE, SSO, instance role) has none; add the profile, give --profile, or log in"
            )
        if env_profile:
            source, login = f"profile {env_profile!r} (AWS_PROFILE)", env_profile
        else:
            method = CREDENTIAL_METHODS.get(credentials.method, credentials.method)
            source, login = f"the default credential chain ({method})", None
    cache: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in cache:  # no endpoint_url: boto3 takes AWS_ENDPOINT_URL / the profile's endpoint_url
            cache[service] = session.client(service, region_name=config.region)
        return cache[service]

    return AccountClients(make, config, source, login)


def login_hint(profile: str | None) -> str:
    if profile:
        return f"run `aws sso login --profile {profile}` (or refresh the profile's keys) and try again"
    return "log in (`aws sso login`, fresh keys in the environment) or give --profile, and try again"


def explain(exc: Exception, config: Any, source: str, profile: str | None) -> CliError | None:
    """An AWS error as a CliError saying what to do, or None when it is not one the CLI knows. ``source`` names
    the credentials (profile 'lecture-dhbw-prod', ...), ``profile`` the profile to log in with (None: none)."""
    login = login_hint(profile)
    if isinstance(exc, bx.ProfileNotFound):
        missing = getattr(exc, "kwargs", {}).get("profile") or profile
        return CliError(f"AWS profile {missing!r} is not configured (~/.aws/config): add it, or give --profile")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return CliError(f"no AWS credentials for {source}: {login}")
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError):
        return CliError(f"the AWS SSO session of {source} has expired: {login}")
    if isinstance(exc, bx.EndpointConnectionError):
        return CliError(f"cannot reach AWS ({exc}): check the network and the region")
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in EXPIRED_CODES:
            return CliError(f"the AWS credentials of {source} are expired or invalid ({code}): {login}")
        if code in NOT_DEPLOYED_CODES and config is not None:
            return not_deployed(config)
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            return CliError(f"{source} may not do this: {exc.response['Error'].get('Message', code)}")
    return None


def not_deployed(config: Any) -> CliError:
    stack = naming.stack_name(config.customer)
    return CliError(
        f"the stack {stack} is not deployed in {config.account}/{config.region}? run npx cdk deploy -c customer={config.customer}"
    )


def error_code(exc: Exception) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, bx.ClientError) else ""


def is_aws_error(exc: Exception) -> bool:
    return isinstance(exc, bx.BotoCoreError | bx.ClientError)
