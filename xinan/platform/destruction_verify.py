"""Verifying a destruction certificate offline (docs/destruction.md §6): the file's exact bytes,
the destroyer's signature against a trust store, the rule, the audit entry and its inclusion
proof under a signed checkpoint, and (given the log) consistency with the log's latest checkpoint.

Before the signature checks out every failure is the opaque ``CertificateInvalid``; after it,
failures are specific (docs/destruction.md §6). Does not own: the model
(:mod:`xinan.platform.destruction_model`) or building (:mod:`xinan.platform.destruction_build`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xinan._codec import loads_strict
from xinan.access import load_audit_config, note_verifier
from xinan.audit.checkpoint import Checkpoint, open_checkpoint
from xinan.audit.config import service_verifier
from xinan.audit.merkle import get_hash, verify_consistency, verify_inclusion
from xinan.audit.note import NoteVerifier, parse_note
from xinan.audit.proof import load_tree
from xinan.crypto import get_suite
from xinan.crypto.recipes import HASH_FOR_SUITE
from xinan.errors import (
    AuditEntryMismatch,
    AuditEntryMissing,
    AuditEntryNotCovered,
    AuditLogUnavailable,
    CertificateInvalid,
    CertificateMalformed,
    CertificateRejected,
    CertificateSignerNotAuthorised,
    CertificateUnknownKey,
    IntegrityError,
    KeyringError,
    RuleNotMet,
)
from xinan.keys import Keyring, PublicKeyInfo
from xinan.platform.destruction_build import (
    _check_entry,
    _line_at,
)
from xinan.platform.destruction_model import (
    _BODY_KEYS,
    _HASHES,
    _ID_RE,
    _KEY_ID_RE,
    _TIME_RE,
    CST,
    DESTROYER_ROLES,
    FORMAT,
    LOG_KEY_ROLES,
    MAX_FILE_BYTES,
    NONCE_LEN,
    AuditReference,
    Certificate,
    DestroyedRecord,
    Destroyer,
    Destruction,
    Rule,
    VerifiedCertificate,
    _b64,
    _file_bytes,
    _match,
    _members,
    _signed_bytes,
    _text,
    _unb64,
)
from xinan.shapes import clear_identifier_kind

# ============================================================================================
# §6 Verification
# ============================================================================================
Trust = Keyring | Sequence[PublicKeyInfo]


def _trusted_keys(trust: Trust) -> list[PublicKeyInfo]:
    if not isinstance(trust, Keyring):
        return list(trust)
    out: list[PublicKeyInfo] = []
    for e in trust.list():
        if e.kind == "secret":
            continue
        try:
            out.append(trust.get_public(e.id))
        except KeyringError:
            continue  # a private file without its public file: not part of the trust store
    return out


def _parse_file(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_FILE_BYTES:
        raise CertificateInvalid("destruction certificate is too large")
    try:
        doc = loads_strict(data)
    except ValueError:  # MalformedJSON
        raise CertificateInvalid("not a destruction certificate (not JSON)") from None
    if not isinstance(doc, dict) or set(doc) != {"format", "certificate", "signature"}:
        raise CertificateInvalid("not a destruction certificate (members)")
    if doc["format"] != FORMAT:
        raise CertificateInvalid(f"not a {FORMAT} certificate")
    try:
        canonical = _file_bytes(doc)
    except (TypeError, ValueError):
        raise CertificateInvalid() from None
    if canonical != data:
        raise CertificateInvalid("destruction certificate is not in canonical form (altered?)")
    return doc


def _check_signature(doc: dict[str, Any], keys: Sequence[PublicKeyInfo]) -> PublicKeyInfo:
    sig = doc["signature"]
    if not isinstance(sig, dict) or set(sig) != {"alg", "key_id", "value"}:
        raise CertificateInvalid()
    key_id = sig["key_id"]
    signer = next((k for k in keys if k.key_id == key_id), None)
    if signer is None:
        raise CertificateUnknownKey(
            f"the certificate is signed by {key_id!r}, which is not in the trust store"
            if isinstance(key_id, str) and _KEY_ID_RE.match(key_id)
            else "the certificate's signing key is not in the trust store"
        )
    # checked: under gm-only a certificate signed with another suite is refused (ComplianceError)
    suite = get_suite(signer.suite, what=f"certificate signer {signer.id}")
    if sig["alg"] != suite.sig_name or not isinstance(sig["value"], str):
        raise CertificateInvalid()
    try:
        value = base64.b64decode(sig["value"], validate=True)
    except (binascii.Error, ValueError):
        raise CertificateInvalid() from None
    if _b64(value) != sig["value"] or not isinstance(doc["certificate"], dict):
        raise CertificateInvalid()
    try:
        suite.verify(signer.sig, _signed_bytes(doc["certificate"]), value)
    except IntegrityError:
        raise CertificateInvalid("destruction certificate signature does not verify") from None
    return signer


def _parse_body(body: dict[str, Any]) -> Certificate:
    m = _members(body, "certificate", _BODY_KEYS)
    if m["format"] != FORMAT:
        raise CertificateMalformed(f"certificate: format must be {FORMAT!r}")
    by = _members(m["destroyed_by"], "destroyed_by", ("id", "key_id", "role"))
    records = m["records"]
    if not isinstance(records, list):
        raise CertificateMalformed("certificate: records must be an array")
    if m["hash"] not in _HASHES:
        raise CertificateMalformed("certificate: hash must be sha256 or sm3")
    d = Destruction(
        vault_id=m["vault"],
        hash=m["hash"],
        nonce=_unb64(m["nonce"], "nonce", NONCE_LEN),
        destroyed_by=Destroyer(
            _text(by["id"], "destroyed_by.id"),
            _text(by["key_id"], "destroyed_by.key_id"),
            _text(by["role"], "destroyed_by.role"),
        ),
        rule=Rule.from_json(m["rule"]),
        records=tuple(DestroyedRecord.from_json(r, i) for i, r in enumerate(records)),
    )
    destroyed_at = _match(m["destroyed_at"], _TIME_RE, "destroyed_at", "a UTC time")
    if _match(m["id"], _ID_RE, "id", "a certificate id dc1…") != d.id:
        raise CertificateMalformed("certificate: id does not match the certificate's contents")
    if m["counts"] != d.counts:
        raise CertificateMalformed("certificate: counts do not add up")
    return Certificate(d, destroyed_at, AuditReference.from_json(m["audit"]))


def _check_rule(cert: Certificate) -> None:
    rule = cert.destruction.rule
    if rule.kind != "retention" or rule.as_of is None:
        day = date.fromisoformat(cert.destroyed_at[:10])
        if rule.reason is not None and clear_identifier_kind(rule.reason, today=day):
            raise RuleNotMet("certificate: the manual reason holds a clear identifier")
        return
    day = datetime.fromisoformat(cert.destroyed_at.replace("Z", "+00:00")).astimezone(CST).date()
    if rule.as_of > day:
        raise RuleNotMet(
            f"certificate: retention as_of {rule.as_of} is after the day of destruction {day} "
            "(records were destroyed early)"
        )
    for r in cert.destruction.records:
        if r.keep_until is None or not r.keep_until < rule.as_of:
            raise RuleNotMet(
                f"certificate: record {r.record_id!r} had to be kept until {r.keep_until}, "
                f"not expired on {rule.as_of}"
            )


def _bound_service_log(name: str, trust: Trust) -> list[tuple[NoteVerifier, str]]:
    """The log signer of the log a trusted keyring is bound to (its roster, signed by the
    sys-admin, pins the signer's key id), when that log is named ``name``."""
    from xinan.roster import is_bootstrapped, load_roster

    if not isinstance(trust, Keyring) or not is_bootstrapped(trust):
        return []
    bound = load_roster(trust).log
    if bound.origin != name:
        return []
    cfg = load_audit_config(Path(bound.path))
    if not cfg.is_service or cfg.log_key_id != bound.log_key_id:
        return []
    v = service_verifier(Path(bound.path), cfg, trust.compliance_mode)
    return [(v, f"{cfg.log_key} ({cfg.log_key_id}, the log's service signer)")]


def _log_verifiers(
    name: str,
    keys: Sequence[PublicKeyInfo],
    log_keys: Sequence[NoteVerifier] | None,
    audit_log: Path | None,
    trust: Trust = (),
) -> list[tuple[NoteVerifier, str]]:
    """Verifiers for checkpoints of the log named ``name`` (its origin: the note key name),
    each with a label naming the key (docs/destruction.md §6, "Log keys")."""
    if log_keys:
        return [(v, f"{v.name} (given key)") for v in log_keys]
    if audit_log is not None and Path(str(audit_log) + ".config").exists():
        cfg = load_audit_config(audit_log)
        if cfg.is_service:  # the log's own signer: its public key is in its configuration
            if cfg.origin != name:  # a service signer signs for its own origin only
                raise AuditEntryMismatch(
                    f"the certificate is for log {name!r}, {audit_log} is {cfg.origin!r}",
                    member="audit.origin",
                )
            v = service_verifier(audit_log, cfg, None)
            return [(v, f"{cfg.log_key} ({cfg.log_key_id}, the log's service signer)")]
        info = next((k for k in keys if k.key_id == cfg.log_key_id), None)
        if info is None:
            raise CertificateRejected(
                f"{audit_log}: the log's key {cfg.log_key} ({cfg.log_key_id}) is not in the "
                "trust store",
                hint="add the platform's public key with `xinan keys add`, or pass --key VKEY",
            )
        return [(note_verifier(name, info), f"{info.id} ({info.key_id}, {info.role.value})")]
    bound = _bound_service_log(name, trust)
    if bound:
        return bound
    return [
        (note_verifier(name, k), f"{k.id} ({k.key_id}, {k.role.value})")
        for k in keys
        if k.role in LOG_KEY_ROLES
    ]


def _open_cp(
    note: str | bytes, verifiers: Callable[[str], list[tuple[NoteVerifier, str]]], what: str
) -> tuple[Checkpoint, str]:
    """Open a checkpoint with the log keys (named by its origin); return it and the label of
    the key that signed it."""
    parsed = parse_note(note)
    known = verifiers(Checkpoint.parse(parsed.text).origin)
    if not known:
        raise CertificateRejected(
            f"{what}: no log key to check the checkpoint with",
            hint="add the platform's public key to the trust store, or pass --key VKEY",
        )
    cp, _ = open_checkpoint(parsed, [v for v, _ in known])
    signed = {(s.name, s.key_id) for s in parsed.signatures}
    label = next(lab for v, lab in known if (v.name, v.key_id) in signed)
    return cp, label


def verify_certificate(
    data: bytes,
    *,
    trust: Trust,
    audit_log: str | Path | None = None,
    log_keys: Sequence[NoteVerifier] | None = None,
) -> VerifiedCertificate:
    """Verify a destruction certificate (docs/destruction.md §6); raise naming what fails.

    ``trust``: a keyring (its trust store) or public keys. With ``audit_log``, also check that
    the entry is in that log, unchanged, under its latest signed checkpoint, and that the
    certificate's checkpoint is consistent with it.
    """
    keys = _trusted_keys(trust)
    doc = _parse_file(data)
    signer = _check_signature(doc, keys)
    cert = _parse_body(doc["certificate"])
    d = cert.destruction
    if (d.destroyed_by.id, d.destroyed_by.key_id, d.destroyed_by.role) != (
        signer.id,
        signer.key_id,
        signer.role.value,
    ):
        raise CertificateSignerNotAuthorised(
            f"certificate names {d.destroyed_by.id} ({d.destroyed_by.key_id}) as destroyer but "
            f"is signed by {signer.id} ({signer.key_id})"
        )
    if signer.role not in DESTROYER_ROLES:
        raise CertificateSignerNotAuthorised(
            f"certificate signed by {signer.id} ({signer.role.value}); only a sec-admin destroys"
        )
    if HASH_FOR_SUITE[signer.suite] != d.hash:
        raise CertificateMalformed("certificate: hash is not the signer suite's hash")
    _check_rule(cert)
    audit = cert.audit
    _check_entry(d, audit, cert.destroyed_at)
    log = Path(audit_log) if audit_log is not None else None

    def verifiers(name: str) -> list[tuple[NoteVerifier, str]]:
        return _log_verifiers(name, keys, log_keys, log, trust)

    cp_size: int | None = None
    cp_signer: str | None = None
    h = get_hash(audit.hash)
    notes: list[str] = []
    if audit.checkpoint is not None:
        cp, cp_signer = _open_cp(audit.checkpoint, verifiers, "certificate")
        if cp.origin != audit.origin or cp.hash_name != audit.hash:
            raise AuditEntryMismatch(
                "certificate: its checkpoint is for another log", member="audit.checkpoint"
            )
        if audit.seq >= cp.size:
            raise AuditEntryNotCovered(
                f"audit entry {audit.seq} is not under the certificate's checkpoint "
                f"(size {cp.size})"
            )
        verify_inclusion(h, audit.leaf_hash, audit.seq, cp.size, list(audit.proof), cp.root)
        cp_size = cp.size
    else:
        notes.append("the certificate carries no checkpoint")
    if log is None:
        return VerifiedCertificate(cert, signer, cp_signer, cp_size, notes=tuple(notes))

    # §6 step 7: against the log itself
    if not log.is_file():
        raise AuditLogUnavailable(
            f"{log}: no audit log here",
            hint="pass the platform's audit log (--audit-log LOG), or verify without one",
        )
    try:
        tree, latest_note = load_tree(log)
    except OSError as exc:
        raise AuditLogUnavailable(f"{log}: cannot read the audit log ({exc.strerror})") from None
    latest, latest_signer = _open_cp(latest_note, verifiers, str(log))
    if latest.origin != audit.origin:
        raise AuditEntryMismatch(
            f"the certificate is for log {audit.origin!r}, {log} is {latest.origin!r}",
            member="audit.origin",
        )
    if audit.seq < tree.start:
        raise AuditEntryMissing(f"{log}: entry {audit.seq} was pruned (log starts at {tree.start})")
    line = _line_at(log, tree.start, audit.seq)
    if line is None:
        raise AuditEntryMissing(f"{log}: no audit entry {audit.seq} (the log ends before it)")
    if h.leaf(line) != audit.leaf_hash:
        raise AuditEntryMismatch(
            f"{log}: audit entry {audit.seq} is not the entry the certificate carries",
            member="leaf_hash",
            hint="the certificate names the wrong seq, or the log was altered: run "
            "`xinan audit verify`",
        )
    if audit.seq >= latest.size:
        raise AuditEntryNotCovered(
            f"{log}: audit entry {audit.seq} is not under the log's latest signed checkpoint "
            f"(size {latest.size})",
            hint="run `xinan audit verify`: a checkpoint is missing",
        )
    verify_inclusion(
        tree.h,
        audit.leaf_hash,
        audit.seq,
        latest.size,
        tree.inclusion_proof(audit.seq, latest.size),
        latest.root,
    )
    consistent = False
    if cp_size is not None and audit.checkpoint is not None:
        old = Checkpoint.parse(parse_note(audit.checkpoint).text)
        if old.size > latest.size:
            raise AuditEntryNotCovered(
                f"{log}: its latest checkpoint (size {latest.size}) is older than the "
                f"certificate's (size {old.size}): the log was rolled back or is an old copy"
            )
        if old.size >= tree.start:
            verify_consistency(
                tree.h,
                old.size,
                latest.size,
                tree.consistency_proof(old.size, latest.size),
                old.root,
                latest.root,
            )
            consistent = True
        else:
            notes.append("the certificate's checkpoint predates the pruned prefix")
    return VerifiedCertificate(
        cert,
        signer,
        cp_signer or latest_signer,
        cp_size,
        log=str(log),
        log_size=latest.size,
        consistency_checked=consistent,
        notes=tuple(notes),
    )
