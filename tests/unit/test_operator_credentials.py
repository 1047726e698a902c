"""The operators' CLI with credentials as AWS users have them (--profile, the customer's profile, the default chain,
AWS_ENDPOINT_URL), and its account check: sts:GetCallerIdentity must name the customer's account before any other
call, else it stops with one line and exit code 2. On moto; MOTO_ACCOUNT_ID says whose account the keys are."""

import io
import json

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from operators import cli
from tests.unit.builders import ACCOUNT, REGION

OTHER = "444444444444"  # nobody's: not a customer's, not the ops account's
MODE = "/lecture/dhbw/remediation/mode"
CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
)
KEYS = "aws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = secret\n"


@pytest.fixture
def calls(monkeypatch):
    """Every AWS call the CLI makes, as (service, operation), whatever session made the client."""
    made: list[tuple[str, str]] = []
    real = BaseClient._make_api_call

    def record(self, operation, params):
        made.append((self.meta.service_model.service_name, operation))
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return made


@pytest.fixture
def aws_files(tmp_path, monkeypatch):
    """No credentials anywhere but what a test writes: the config and credentials files, then the environment."""
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)

    def write(config: str = "", credentials: str = "") -> None:
        (tmp_path / "config").write_text(config)
        (tmp_path / "credentials").write_text(credentials)

    write()
    return write


@pytest.fixture
def moto(aws_files):
    with mock_aws(config={"core": {"mock_credentials": False}}):  # no fake keys in the environment
        # the mode switch, in the customer's account (as the stack makes it)
        ssm().put_parameter(Name=MODE, Value="dry-run", Type="String")
        yield


def ssm():
    """The test's own client (its own keys), not the CLI's."""
    return boto3.Session(aws_access_key_id="setup", aws_secret_access_key="setup").client("ssm", region_name=REGION)


def env_keys(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def run(argv, clients=None):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, clients, out=out, err=err, poll_seconds=0.01)
    return code, out.getvalue(), err.getvalue()


# --- where the credentials come from -------------------------------------------------------------------
def test_environment_credentials_without_any_profile_are_used(moto, monkeypatch, calls):
    # given keys in the environment only (CI, a container), no ~/.aws/config
    env_keys(monkeypatch)
    # when
    code, out, err = run(["mode", "-c", "dhbw", "--output", "json"])
    # then the account is checked first, then the switch is read
    assert (code, err) == (0, "")
    assert json.loads(out) == {"customer": "dhbw", "parameter": MODE, "mode": "dry-run"}
    assert calls == [("sts", "GetCallerIdentity"), ("ssm", "GetParameter")]


def test_profile_default_is_a_profile_like_any_other(moto, aws_files, calls):
    aws_files(credentials="[default]\n" + KEYS)
    code, out, err = run(["mode", "-c", "dhbw", "--profile", "default"])
    assert (code, out, err) == (0, "dry-run\n", "")
    assert calls == [("sts", "GetCallerIdentity"), ("ssm", "GetParameter")]


# which source is used shows in the account check's message: the keys are of another account here
@pytest.mark.parametrize(
    "config, env, argv, source",
    [
        # the customer's profile, when it is configured, over the environment's keys
        (
            f"[profile lecture-dhbw-prod]\n{KEYS}",
            {"AWS_ACCESS_KEY_ID": "AKIAENVKEY", "AWS_SECRET_ACCESS_KEY": "x"},
            [],
            "profile 'lecture-dhbw-prod'",
        ),
        # --profile over the customer's profile
        (f"[profile lecture-dhbw-prod]\n{KEYS}[profile ops]\n{KEYS}", {}, ["--profile", "ops"], "profile 'ops'"),
        # no customer profile: the default chain, AWS_PROFILE first
        (f"[profile ops]\n{KEYS}", {"AWS_PROFILE": "ops"}, [], "profile 'ops' (AWS_PROFILE)"),
        # no customer profile: the default chain, the environment's keys
        (
            "",
            {"AWS_ACCESS_KEY_ID": "AKIAENVKEY", "AWS_SECRET_ACCESS_KEY": "x"},
            [],
            "the default credential chain (environment variables)",
        ),
        # no customer profile: the default chain, the [default] profile
        (f"[default]\n{KEYS}", {}, [], "the default credential chain (~/.aws/config)"),
    ],
)
def test_credentials_of_another_account_stop_the_cli_before_any_other_call(
    moto, aws_files, monkeypatch, calls, config, env, argv, source
):
    # given credentials (from that source) of another account
    aws_files(config=config)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER)
    # when an operator changes the mode switch of dhbw
    code, out, err = run(["mode", "-c", "dhbw", "off", *argv])
    # then it stops, naming both accounts and the credentials, and nothing but the identity was asked
    assert (code, out) == (2, "")
    assert err == (
        f"error: wrong AWS account for customer dhbw: expected {ACCOUNT} (customers/dhbw.yaml), got "
        f"{OTHER} from {source}; nothing was done (use the customer's credentials, e.g. --profile "
        "lecture-dhbw-prod)\n"
    )
    assert calls == [("sts", "GetCallerIdentity")]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert ssm().get_parameter(Name=MODE)["Parameter"]["Value"] == "dry-run"


def test_no_credentials_at_all_say_what_was_tried(aws_files):
    code, out, err = run(["mode", "-c", "dhbw"])
    assert (code, out) == (1, "")
    assert err == (
        "error: no AWS credentials for customer dhbw: its profile 'lecture-dhbw-prod' is not configured "
        "(~/.aws/config) and the default credential chain (environment, AWS_PROFILE, SSO, instance role) "
        "has none; add the profile, give --profile, or log in\n"
    )


def test_an_aws_profile_that_is_not_configured_is_named(aws_files, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "typo")
    code, _, err = run(["mode", "-c", "dhbw"])
    assert code == 1 and err == (
        "error: AWS profile 'typo' (AWS_PROFILE) is not configured (~/.aws/config): set "
        "AWS_PROFILE to a configured one, or give --profile\n"
    )


@pytest.mark.parametrize(
    "config, env",
    [
        ("", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}),  # the environment's endpoint
        (f"[profile lecture-dhbw-prod]\n{KEYS}endpoint_url = http://127.0.0.1:9\n", {}),  # the profile's
    ],
)
def test_the_endpoint_url_of_the_environment_or_the_profile_is_honoured(aws_files, monkeypatch, config, env):
    # given an endpoint nobody listens on (port 9: refused at once), no mock: the calls go where boto3 sends them
    aws_files(config=config)
    env_keys(monkeypatch)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code, out, err = run(["mode", "-c", "dhbw"])
    # then the CLI tried that endpoint (and says it cannot reach it)
    assert (code, out) == (1, "")
    assert err.startswith('error: cannot reach AWS (Could not connect to the endpoint URL: "http://127.0.0.1:9/")')


# --- the account check, command by command ----------------------------------------------------------------
ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:lecture-dhbw-scale-ecs-service:manual-1"
COMMANDS = [
    ["start", "scale-ecs-service", "-c", "dhbw", "service=lecture-backend-service", "delta=1"],
    ["start", "scale-ecs-service", "-c", "dhbw", "service=lecture-backend-service", "delta=1", "--no-wait"],
    ["watch", ARN],
    ["approve", "manual-1", "-c", "dhbw"],
    ["reject", "manual-1", "-c", "dhbw", "--comment", "no"],
    ["pending", "-c", "dhbw"],
    ["history", "-c", "dhbw"],
    ["history", "-c", "dhbw", "--wide"],
    ["mode", "-c", "dhbw"],
    ["mode", "-c", "dhbw", "enforce"],
]


@pytest.fixture
def other_account(aws_env, monkeypatch):
    """moto as another account than dhbw's; clients that record each call they make."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER)
    made: list[tuple[str, str]] = []
    with mock_aws():

        def clients(service):
            client = boto3.client(service, region_name=REGION)
            client.meta.events.register("before-call", lambda model, **_: made.append((service, model.name)))
            return client

        yield clients, made


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
@pytest.mark.parametrize("output", ["text", "json"])
def test_every_command_checks_the_account_first_and_does_nothing_in_another(other_account, argv, output):
    clients, made = other_account
    code, out, err = run([*argv, "--output", output], clients)
    assert (code, out) == (2, "")
    assert err == (
        f"error: wrong AWS account for customer dhbw: expected {ACCOUNT} (customers/dhbw.yaml), got {OTHER} "
        "from the clients given to the CLI; nothing was done (use the customer's credentials, e.g. "
        "--profile lecture-dhbw-prod)\n"
    )
    assert made == [("sts", "GetCallerIdentity")]


def test_status_all_shows_another_accounts_credentials_as_that_customers_row(other_account):
    # given credentials of 444444444444 for every customer (and for the ops account)
    clients, made = other_account
    # when
    code, out, err = run(["status", "--all"], clients)
    # then each customer's row says so, and the table is printed (not a crash); one identity call per customer
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert sorted(rows) == ["dhbw", "edt", "unilux"] and code == 2
    # the ops account's fleet table is not read with them either, and the CLI says why it reads each account
    assert err == (
        "not from the ops account's fleet table (wrong AWS account for customer ops: expected 999999999999 "
        f"(customers/ops.yaml), got {OTHER} from the clients given to the CLI; nothing was done (use the customer's "
        "credentials, e.g. --profile lecture-ops)): from each customer's own account\n"
    )
    for customer, account in (("dhbw", "111111111111"), ("edt", "222222222222"), ("unilux", "333333333333")):
        assert (
            f"error: wrong AWS account for customer {customer}: expected {account} (customers/{customer}.yaml), "
            f"got {OTHER} from the clients given to the CLI" in rows[customer]
        )
    # the ops account's identity first (status --all reads the fleet table there when it can): refused, so
    # nothing is read from it; then one identity call per customer
    assert made == [("sts", "GetCallerIdentity")] * 4
    # and as JSON: a row per customer, with its error
    code, out, _ = run(["status", "--all", "--output", "json"], clients)
    found = json.loads(out)
    assert code == 2 and [r["customer"] for r in found] == ["dhbw", "edt", "unilux"]
    assert all(set(r) == {"customer", "account", "region", "error"} for r in found)
    assert found[1]["account"] == "222222222222" and f"got {OTHER}" in found[1]["error"]


def test_the_check_is_made_once_per_customer_and_command(aws_env, monkeypatch):
    # given dhbw's account, an approval to answer: approve asks for the identity, then looks for the pending item
    made: list[tuple[str, str]] = []
    with mock_aws():

        def clients(service):
            client = boto3.client(service, region_name=REGION)
            client.meta.events.register("before-call", lambda model, **_: made.append((service, model.name)))
            return client

        code, _, err = run(["approve", "manual-1", "-c", "dhbw"], clients)
    # then (no table: the stack is not deployed) the identity was asked once, before the table
    assert code == 1 and "not deployed" in err
    assert made[0] == ("sts", "GetCallerIdentity") and made.count(("sts", "GetCallerIdentity")) == 1
    assert ("dynamodb", "Query") in made
