"""The command line: parse arguments, call the pipeline, render, map errors to exit codes.

Exit codes: 0 clean, 1 findings at or above --fail-on (audit), 2 usage or input error.
Each module registers its commands on the ``cli`` group from ``base``.
"""

from coverwatch.cli import (  # noqa: F401 - importing registers the commands
    compliance,
    database,
    inventory,
    lab,
    monitor,
    sensor,
    traffic,
    waivers,
)
from coverwatch.cli.base import cli, main

__all__ = ["cli", "main"]
