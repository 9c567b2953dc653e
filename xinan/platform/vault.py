"""(2) The platform's vault ``xinan-vault/1`` (spec: docs/vault.md; sections cited as §n).

Owns: the vault's files (§1 layout, §2 ``vault.json`` with the wrapped KEK, §3 ``vault.db``, §4
the separate key store ``keys.db``), ingesting submissions (§5) with subject pseudonyms (§6),
masked views of stored records, consents and grants at rest with the one-grant-one-share replay
guard (§7), building share packages for a verified grant with a release secret per record (§8),
and releasing those secrets to the querent for the records still shareable (§8.1).

Does not own: the package format (:mod:`xinan.formats.package`), the grant format and its checks
(:mod:`xinan.formats.grant`), masking (:mod:`xinan.masking`), key files (:mod:`xinan.keys`), the
querent's side (:mod:`xinan.querent.open_share`), the lifecycle rules that later set the status
columns
(:mod:`xinan.policy.periods`, issue 7). It never reads the clock: ``now`` is a parameter.

Nothing here stores or logs a clear identifier or a clear sensitive value: sealed fields stay
the provider's ciphertexts, subject identifiers become keyed pseudonyms at once, and plaintext
exists only in memory while a view is computed or a pseudonym derived.
"""

from __future__ import annotations

from xinan.platform.ingest import IngestOps, IngestSummary
from xinan.platform.sharing import ReleaseSummary, ShareSummary, SharingOps
from xinan.platform.vault_config import (
    FORMAT,
    VaultConfig,
    init_vault,
    parse_duration,
    read_revocations_file,
    resolve_fields,
    resolve_vault_path,
    today_cst,
)
from xinan.platform.vault_core import StoredRecord, VaultCore

__all__ = [
    "FORMAT",
    "IngestSummary",
    "ReleaseSummary",
    "ShareSummary",
    "StoredRecord",
    "Vault",
    "VaultConfig",
    "VaultCore",
    "init_vault",
    "parse_duration",
    "read_revocations_file",
    "resolve_fields",
    "resolve_vault_path",
    "today_cst",
]


class Vault(IngestOps, SharingOps):
    """An open vault (docs/vault.md): :class:`VaultCore` with ingest and shares. Use
    :meth:`open`; :meth:`unlock` with the platform identity before any operation that touches
    keys. Close it (``with``)."""
