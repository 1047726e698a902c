"""Keep the sandbox's output readable: moto's notices about models it lacks become timeline facts."""

import logging
import warnings


def install() -> None:
    warnings.filterwarnings("ignore", message=r"Tried to parse AWS::")
    warnings.filterwarnings("ignore", message=r"No application metrics to publish")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
