"""Domain errors. Their class name becomes the Step Functions error name; the message says what is wrong."""


class RemediationError(Exception):
    """Base of every error this automation raises on purpose."""


class InvalidEvent(RemediationError):
    """The event that started the workflow is malformed or not ours. Nothing was changed."""


class InvalidInput(RemediationError):
    """A runbook was started with a missing or wrong field. Nothing was changed."""


class InvalidPlan(RemediationError):
    """act was given a plan that the configuration does not allow (e.g. a forged direct invoke). Nothing was changed."""


class ResourceNotFound(RemediationError):
    """The resource the runbook should act on does not exist."""


class PagerDutyError(RemediationError):
    """PagerDuty refused the event (400) or stayed unavailable after bounded retries."""


class ConfigurationError(RemediationError):
    """The function's environment is incomplete or invalid (a deployment problem)."""


class PagingFailed(RemediationError):
    """The page for an incident could not be sent; the remediation went on and its outcome is given."""


class IncidentConflict(RemediationError):
    """Concurrent deliveries kept changing an alarm's open incident; retried, then given up. Nothing was changed."""


class IdentityNotProven(RemediationError):
    """A person's answer (or a run's start) came without a valid proof of who they are. Nothing was changed."""


class ApprovalNotProven(RemediationError):
    """A step that asks for approval was called without a proof of it (a direct invoke, a forged answer)."""


class AuditNotAppended(RemediationError):
    """An audit row could not be appended to the chain (its key is taken, or the chain head kept moving)."""
