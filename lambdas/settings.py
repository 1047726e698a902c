"""The function's environment, validated at the start of each invocation."""

import os

from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.customer import CustomerConfig
from lambdas.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built at the first invocation, not at import (cold start)

    customer: CustomerConfig
    table_name: str
    topic_arn: str = ""
    mode_parameter: str
    pagerduty_secret_name: str = ""

    @property
    def pagerduty_events_url(self) -> str:
        """One source of truth: the customer file's paging.pagerduty_events_url."""
        return self.customer.paging.pagerduty_events_url

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        try:
            return cls(
                customer=CustomerConfig.model_validate_json(env.get("CUSTOMER_CONFIG", "")),
                table_name=env.get("TABLE_NAME", ""),
                topic_arn=env.get("TOPIC_ARN", ""),
                mode_parameter=env.get("MODE_PARAMETER", ""),
                pagerduty_secret_name=env.get("PAGERDUTY_SECRET_NAME", ""),
            )
        except ValidationError as exc:
            raise ConfigurationError(f"the function's environment is invalid: {exc}") from None
