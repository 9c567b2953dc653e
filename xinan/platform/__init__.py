"""(2) The platform (公共信用信息平台): verify and ingest submissions, keep records sealed in the
vault, disclose public views, record consents, issue grants and share granted fields, handle
objections and credit repair, and destroy data when its time is up.

* :class:`Platform` — the platform opened as one identity; its operations check the role, log
  before the effect and log every read (:mod:`xinan.platform.service` and the ``*_ops``
  modules);
* :mod:`xinan.platform.submissions` — verify a package, open a submission;
* :mod:`xinan.platform.vault` — the vault (docs/vault.md): records, consents, grants, shares;
* :mod:`xinan.platform.lifecycle` — public disclosure, objections (异议), credit repair;
* :mod:`xinan.platform.retention` — which records are due, and the destruction job;
* :mod:`xinan.platform.destruction` — crypto-shredding and destruction certificates;
* :mod:`xinan.platform.backup` — backup and restore with the audit chain (docs/backup.md).
"""

from xinan.platform.access_ops import AccessOps
from xinan.platform.backup import BackupOps, rebind_vault, restore_vault
from xinan.platform.lifecycle_ops import DestroyOutcome, LifecycleOps
from xinan.platform.records_ops import RecordOps, RecordView
from xinan.platform.service import PlatformContext, VaultCreated, create_vault
from xinan.platform.source_changes import SourceChangeOps


class Platform(SourceChangeOps, RecordOps, AccessOps, LifecycleOps, BackupOps):
    """The platform opened as one identity: ``Platform.open(PlatformContext(...))``.

    Every operation checks the actor's role (a refusal is logged before it is raised),
    appends its audit entry to the vault's own log before its effect, and logs every read.
    """


__all__ = [
    "DestroyOutcome",
    "Platform",
    "PlatformContext",
    "RecordView",
    "VaultCreated",
    "create_vault",
    "rebind_vault",
    "restore_vault",
]
