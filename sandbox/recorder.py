"""Watch every AWS call the automation makes; keep the mutating ones (the "actions" of a report).

Every call made from inside a Lambda invocation is also kept in ``calls``, with the function's name,
for the least-privilege check (tests/e2e/least_privilege.py); the report does not show them.

The sandbox's own clients (deploying, building the world, firing alarms) are marked and skipped.
Bookkeeping of the automation itself (its table, status topic, logs, metrics, workflow calls) is
not a change to the customer's resources and is not an action.
"""

import threading
import time

import botocore.client

from catalog import RUNBOOKS
from sandbox.moto_gaps import current_function

MUTATING_PREFIXES = (
    "Create",
    "Delete",
    "Put",
    "Update",
    "Register",
    "Deregister",
    "Start",
    "Stop",
    "Restore",
    "Modify",
    "Copy",
    "Set",
    "Tag",
    "Untag",
    "Reboot",
    "Terminate",
    "Run",
    "Batch",
    "Remove",
    "Add",
    "Attach",
    "Detach",
    "Execute",
    "Publish",
    "Send",
    "Invoke",
    "Enable",
    "Disable",
)
BOOKKEEPING_SERVICES = {
    "sns",
    "sqs",
    "stepfunctions",
    "logs",
    "cloudwatch",
    "lambda",
    "sts",
    "xray",
    "secretsmanager",
    "ssm",
    "events",
}
# ...but a call that a runbook declares as a write (catalog: Permission(write=True)) changes the customer's
# resources: an action, whatever the service (e.g. lambda:UpdateFunctionConfiguration)
CUSTOMER_CHANGES = {
    (action.split(":", 1)[0], action.split(":", 1)[1])
    for rb in RUNBOOKS.values()
    for permission in rb.permissions
    if permission.write
    for action in permission.actions
}


class Recorder:
    def __init__(self, own_tables: set[str], before_after=None, customer_of=lambda function: None):
        self.own_tables = own_tables
        self.before_after = before_after  # callable(customer, service, operation, params) -> the instance
        self.customer_of = customer_of  # function name -> the customer whose function it is
        self.actions: list[dict] = []
        self.calls: list[dict] = []  # every call from inside a Lambda: function, service, operation, params
        self._lock = threading.Lock()
        self._original = None

    def is_action(self, service: str, operation: str, params: dict) -> bool:
        if service == "dynamodb" and params.get("TableName") in self.own_tables:
            return False
        if (service, operation) in CUSTOMER_CHANGES:
            return True
        if service in BOOKKEEPING_SERVICES or not operation.startswith(MUTATING_PREFIXES):
            return False
        return True

    def install(self) -> None:
        recorder = self
        original = self._original = botocore.client.BaseClient._make_api_call

        def _make_api_call(client, operation_name, api_params):
            if getattr(client, "_sandbox_own", False):
                return original(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            function = current_function()
            if function:
                with recorder._lock:
                    recorder.calls.append(
                        {
                            "function": function,
                            "service": service,
                            "operation": operation_name,
                            "params": _plain(api_params),
                            "region": client.meta.region_name,
                        }
                    )
            if not recorder.is_action(service, operation_name, api_params):
                return original(client, operation_name, api_params)
            customer = recorder.customer_of(function)
            snapshot = recorder.before_after
            before = snapshot(customer, service, operation_name, api_params) if snapshot else None
            started = time.perf_counter()
            error = None
            try:
                return original(client, operation_name, api_params)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                after = snapshot(customer, service, operation_name, api_params) if snapshot else None
                action = {
                    "service": service,
                    "operation": operation_name,
                    "params": _plain(api_params),
                    "at": started,
                    "customer": customer,
                }
                if before is not None or after is not None:
                    action["before"], action["after"] = before, after
                if error:
                    action["error"] = error
                with recorder._lock:
                    recorder.actions.append(action)

        botocore.client.BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.client.BaseClient._make_api_call = self._original
            self._original = None


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
