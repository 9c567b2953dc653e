"""Who may do what: the role of every operation (deny by default) and the security labels of
fields (GB/T 22239-2019 8.1.4.2). :mod:`xinan.access` checks them for each session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from xinan.keys import Role

if TYPE_CHECKING:
    from xinan.policy.catalogue import RecordKind

# Which roles may perform which operation (deny by default: an operation not listed here is
# refused to everyone). The three administrator roles never overlap (三权分立): sys-admin runs
# the system (vault set-up), sec-admin decides access (grants, policies, destruction), and
# audit-admin reads the full audit log. Nobody may edit the log: there is no such operation.
PERMISSIONS: Mapping[str, frozenset[Role]] = {
    "scan": frozenset({Role.PROVIDER}),
    "mask": frozenset({Role.PROVIDER}),
    "seal": frozenset({Role.PROVIDER}),
    "verify": frozenset(Role) - {Role.PSEUDONYM},
    "open.submission": frozenset({Role.PLATFORM}),
    "open.share": frozenset({Role.QUERENT}),
    "vault.init": frozenset({Role.SYS_ADMIN}),
    "vault.ingest": frozenset({Role.PLATFORM}),
    "vault.upgrade": frozenset({Role.PLATFORM}),  # docs/vault.md §11.1 (needs the vault key)
    "vault.read": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "vault.disclose": frozenset({Role.PLATFORM}),
    "vault.archive": frozenset({Role.AUDIT_ADMIN}),
    # the platform operator hands its key's signing half to the platform service (issue 12)
    "vault.delegate": frozenset({Role.PLATFORM}),
    "consent": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "grant": frozenset({Role.SEC_ADMIN}),
    "share": frozenset({Role.PLATFORM}),
    "release": frozenset({Role.PLATFORM}),
    "dispute": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "repair": frozenset({Role.SEC_ADMIN}),
    "repair.apply": frozenset({Role.PLATFORM}),
    "destroy": frozenset({Role.SEC_ADMIN}),
    # a subject's deletion request before retention ends (PIPL 47 ¶2): the record is restricted
    "restrict": frozenset({Role.PLATFORM, Role.SEC_ADMIN}),
    "pia": frozenset({Role.SEC_ADMIN}),  # impact assessments (PIPL 55–56)
    "outbox.pull": frozenset({Role.PLATFORM}),  # signed events and notices (docs/outbox.md)
    "policy.change": frozenset({Role.SEC_ADMIN}),
    "key.manage": frozenset({Role.SYS_ADMIN}),
    # security labels are the security administrator's (GB/T 22239-2019 8.1.5.3)
    "key.clearance": frozenset({Role.SEC_ADMIN}),
    # a holder changes its own passphrase (8.1.4.1 a)
    "key.passphrase": frozenset(Role) - {Role.PSEUDONYM},
    "audit.read": frozenset({Role.AUDIT_ADMIN, Role.AUDITOR}),
    "audit.prune": frozenset({Role.AUDIT_ADMIN}),
    "audit.repair": frozenset({Role.AUDIT_ADMIN}),
    "audit.init": frozenset({Role.SYS_ADMIN, Role.PLATFORM, Role.PROVIDER, Role.AUDIT_ADMIN}),
    "report.subject": frozenset({Role.PLATFORM, Role.AUDIT_ADMIN}),
}
ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})


def field_labels(
    kind: RecordKind, fields: Iterable[str] | None = None, *, audience: str | None = None
) -> dict[str, int]:
    """Security labels (GB/T 22239-2019 8.1.4.2 g): each field's label is its grade in the
    policy (1 公开 … 4 高敏感), for ``fields`` of ``kind`` (all when None). With ``audience``,
    only the fields that audience's view releases verbatim (rule ``clear``): a masked, banded
    or dropped value releases less than its grade. Pass the result to
    :meth:`Session.require_clearance` before releasing those fields."""
    wanted = None if fields is None else set(fields)
    return {
        f.name: f.grade
        for f in kind.fields
        if (wanted is None or f.name in wanted)
        and (audience is None or f.rules[audience].op == "clear")
    }
