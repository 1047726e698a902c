"""The offline AWS itself: moto started, every patch of moto made and undone, and the accounts in it.

No account is pinned (``MOTO_ACCOUNT_ID`` would put every request of the process into one account): each
customer's account has its own IAM user and access key, and moto takes the account of a request from the key it
carries. The sandbox's own clients, the in-process Lambdas and the Step Functions interpreter all use the key of
their account, and so do real clients through the profiles of ``.sandbox/aws-config``. Nothing here knows the
stack or the world."""

import os
import threading

from sandbox.moto_gaps import Patches, signed_client

OPERATOR_USER = "sandbox-operator"  # the IAM user behind a customer's lecture-<c>-prod profile: not an approver
# The IAM user behind a customer's lecture-<c>-approver profile: a named approver (approvals.approvers in the
# customer files name user/approvers/*). A scenario's approve / reject step answers as it unless it names another.
APPROVER_USER = "approvers/sandbox-approver"


class OfflineAws:
    def __init__(self, region: str):
        self.region = region
        self.patches = Patches()
        self._mock = None
        self._env_saved: dict = {}
        self._clients: dict = {}
        self._keys: dict[tuple[str, str], dict] = {}  # (account, user) -> {"id", "secret", "arn"} of that IAM user
        self._role_keys: dict[str, dict] = {}  # role ARN -> assumed-role credentials (Lambda functions)
        self._lock = threading.RLock()

    def start(self) -> None:
        from moto import mock_aws

        # keys no account knows: a client that names no account lands in moto's default one, never a customer's
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        self._env_saved = {k: os.environ.get(k) for k in (*env, "MOTO_ACCOUNT_ID")}
        os.environ.update(env)
        os.environ.pop("MOTO_ACCOUNT_ID", None)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()

    def stop(self) -> None:
        self.patches.undo()  # os.environ is the process's own again before it is restored
        if self._mock:
            self._mock.stop()
            self._mock = None
        for k, v in self._env_saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._env_saved = {}
        self._clients, self._keys, self._role_keys = {}, {}, {}

    # --- accounts ----------------------------------------------------------------------------------
    def keys(self, account: str, user: str = OPERATOR_USER) -> dict:
        """The access key of an IAM user of the account (created on first use; ``path/name`` puts it under a path,
        as approvers/alice): requests signed with it land in that account, in moto as they would in AWS. By
        default the account's operator."""
        from moto.iam.models import iam_backends

        path, _, name = user.rpartition("/")
        with self._lock:
            if (account, user) not in self._keys:
                iam = iam_backends[account]["aws"]
                found = iam.users.get(name) or iam.create_user(self.region, name, path=f"/{path}/" if path else "/")
                key = iam.create_access_key(name)
                self._keys[(account, user)] = {"id": key.access_key_id, "secret": key.secret_access_key, "arn": found.arn}
            return self._keys[(account, user)]

    def account_keys(self) -> dict[tuple[str, str], dict]:
        """(account, user) -> that IAM user's key, as made so far (kept with a deployed snapshot)."""
        with self._lock:
            return {account: dict(key) for account, key in self._keys.items()}

    def adopt_keys(self, keys: dict[tuple[str, str], dict]) -> None:
        """The IAM users' keys of accounts put back from a snapshot (their users are in its IAM)."""
        with self._lock:
            self._keys.update({account: dict(key) for account, key in keys.items()})

    def role_credentials(self, role_arn: str) -> dict:
        """Credentials of the role (STS AssumeRole, as Lambda does for a function's execution role): calls made
        with them land in the role's account."""
        from moto.sts.models import sts_backends

        with self._lock:
            if role_arn not in self._role_keys:
                account = role_arn.split(":")[4]
                role = sts_backends[account]["aws"].assume_role(
                    region_name=self.region,
                    role_session_name="sandbox",
                    role_arn=role_arn,
                    policy="",
                    duration=43200,
                    external_id="",
                )
                self._role_keys[role_arn] = {
                    "AWS_ACCESS_KEY_ID": role.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
                    "AWS_SESSION_TOKEN": role.session_token,
                }
            return self._role_keys[role_arn]

    def client(self, service: str, account: str, region: str | None = None, user: str = OPERATOR_USER):
        """A client of the sandbox itself in ``account`` (as ``user``): its calls are not the automation's actions."""
        region = region or self.region
        cache = (service, account, region, user)
        with self._lock:
            if cache not in self._clients:
                key = self.keys(account, user)
                c = signed_client("client", service, key["id"], key["secret"], region_name=region)
                c._sandbox_own = True
                self._clients[cache] = c
            return self._clients[cache]

    def clients_for(self, account: str, region: str | None = None, user: str = OPERATOR_USER):
        """service -> the sandbox's own client in ``account``, as ``user``."""

        def clients(service: str):
            return self.client(service, account, region, user)

        clients.account = account  # type: ignore[attr-defined]
        clients.user = user  # type: ignore[attr-defined]
        return clients
