"""Destruction: crypto-shredding in SQLite and the signed destruction certificate.

The public face of the ``xinan-destruction/1`` format (docs/destruction.md); its sections live in
modules of a few hundred lines, all re-exported here so that import paths stay as they were:

* :mod:`xinan.platform.destruction_model` — §3 the certificate model, its canonical file form,
  §3.6 the content-addressed id, ``plan_destruction``;
* :mod:`xinan.platform.destruction_build` — §4–§5 the audit reference and building, §3.7 signing;
* :mod:`xinan.platform.destruction_verify` — §6 offline verification;
* :mod:`xinan.platform.destruction_residue` — §7 residue scans of raw files.

Does not own: which records are due (:mod:`xinan.policy.periods` computes ``keep_until``), the
vault's tables and its destroy path (:mod:`xinan.platform.retention`), shredding rows
(:mod:`xinan.platform.store.shred`), the audit log (:mod:`xinan.audit`; the caller records the
entry through its :class:`~xinan.access.Session`), primitives (:mod:`xinan.crypto`).
"""

from __future__ import annotations

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    AuditEntryMismatch,
    AuditEntryMissing,
    AuditEntryNotCovered,
    AuditLogUnavailable,
    CertificateInvalid,
    CertificateMalformed,
    CertificateRejected,
    CertificateSignerNotAuthorised,
    CertificateUnknownKey,
    RuleNotMet,
)
from xinan.platform.destruction_build import (
    audit_reference,
    build_certificate,
    sign_certificate,
)
from xinan.platform.destruction_model import (
    FORMAT,
    MAX_RECORDS,
    AuditReference,
    Certificate,
    DestroyedRecord,
    Destroyer,
    Destruction,
    Rule,
    VerifiedCertificate,
    _file_bytes,
    _signed_bytes,
    plan_destruction,
)
from xinan.platform.destruction_residue import Finding, residue_scan, sqlite_files
from xinan.platform.destruction_verify import _parse_body, verify_certificate
from xinan.shapes import clear_identifier_kind

__all__ = [
    "FORMAT",
    "MAX_RECORDS",
    "AuditEntryMismatch",
    "AuditEntryMissing",
    "AuditEntryNotCovered",
    "AuditLogUnavailable",
    "AuditReference",
    "Certificate",
    "CertificateInvalid",
    "CertificateMalformed",
    "CertificateRejected",
    "CertificateSignerNotAuthorised",
    "CertificateUnknownKey",
    "DestroyedRecord",
    "Destroyer",
    "Destruction",
    "Finding",
    "Rule",
    "RuleNotMet",
    "VerifiedCertificate",
    "audit_reference",
    "build_certificate",
    "clear_identifier_kind",
    "plan_destruction",
    "residue_scan",
    "sign_certificate",
    "sqlite_files",
    "verify_certificate",
]

# private names the tests and fuzz targets reach for (kept at their old import path)
_PRIVATE = (_file_bytes, _parse_body, _signed_bytes)
