"""The ``xinan`` command line. Each module here registers its commands on :data:`app`."""

from xinan.cli._app import app, main

# Importing registers the commands, in the order of the data flow.
from xinan.cli import demo_cmds  # noqa: F401  isort: skip
from xinan.cli import init_cmds  # noqa: F401  isort: skip
from xinan.cli import provider_cmds  # noqa: F401  isort: skip
from xinan.cli import package_cmds  # noqa: F401  isort: skip
from xinan.cli import vault_cmds  # noqa: F401  isort: skip
from xinan.cli import access_cmds  # noqa: F401  isort: skip
from xinan.cli import pia_cmds  # noqa: F401  isort: skip
from xinan.cli import outbox_cmds  # noqa: F401  isort: skip
from xinan.cli import lifecycle_vault_cmds  # noqa: F401  isort: skip
from xinan.cli import backup_cmds  # noqa: F401  isort: skip
from xinan.cli import source_cmds  # noqa: F401  isort: skip
from xinan.cli import keys_cmds  # noqa: F401  isort: skip
from xinan.cli import policy_cmds  # noqa: F401  isort: skip
from xinan.cli import audit_cmds  # noqa: F401  isort: skip
from xinan.cli import lineage_cmds  # noqa: F401  isort: skip
from xinan.cli import lifecycle_cmds  # noqa: F401  isort: skip
from xinan.cli import report_cmds  # noqa: F401  isort: skip
from xinan.cli import spark_cmds  # noqa: F401  isort: skip

__all__ = ["app", "main"]
