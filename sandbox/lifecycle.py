"""The offline AWS itself: credentials and region in the environment, moto started, every patch of
moto made and undone. Nothing here knows the stack or the world."""

import os

import boto3

from sandbox.moto_gaps import Patches


class OfflineAws:
    def __init__(self, account: str, region: str):
        self.account, self.region = account, region
        self.patches = Patches()
        self._mock = None
        self._env_saved: dict = {}
        self._clients: dict = {}

    def start(self) -> None:
        from moto import mock_aws

        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region, "MOTO_ACCOUNT_ID": self.account}
        self._env_saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                                      "lambda": {"use_docker": False}})
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

    def client(self, service: str):
        """A client of the sandbox itself: its calls are not the automation's actions."""
        if service not in self._clients:
            c = boto3.Session().client(service, region_name=self.region)
            c._sandbox_own = True
            self._clients.setdefault(service, c)
        return self._clients[service]
