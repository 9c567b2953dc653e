"""Destruction: crypto-shredding in SQLite and the signed destruction certificate.

Sections follow docs/destruction.md: §3 the certificate model and its canonical file form, §3.6
the content-addressed id, §3.7 signing, §4 the audit entry a destruction writes, §5 building,
§6 verification, §7 shredding SQLite rows and scanning files for residue.

Owns: the ``xinan-destruction/1`` format, the checks on it, and the SQLite primitives the vault
calls to destroy rows (``shred``/``purge``) and that tests use to prove it (``residue_scan``).

Does not own: which records are due (:mod:`xinan.policy.periods` computes ``keep_until``), the
vault's
tables and its destroy command (:mod:`xinan.platform.vault`), the audit log (:mod:`xinan.audit`; the
caller records the entry through its :class:`~xinan.access.Session`), primitives
(:mod:`xinan.crypto`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from xinan._codec import canonical_json, loads_strict, pretty_json
from xinan.access import PERMISSIONS, load_audit_config, note_verifier
from xinan.audit.checkpoint import Checkpoint, open_checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.merkle import get_hash, verify_consistency, verify_inclusion
from xinan.audit.note import NoteVerifier, parse_note
from xinan.audit.proof import load_tree
from xinan.crypto import get_suite
from xinan.crypto.recipes import HASH_FOR_SUITE, hash_function
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
    ClearIdentifierRefused,
    IntegrityError,
    KeyringError,
    RuleNotMet,
    UsageError,
)
from xinan.keys import Identity, Keyring, PublicKeyInfo, Role
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

FORMAT = "xinan-destruction/1"
MAX_RECORDS = 10_000  # docs/audit-log.md §2.2: an entry lists at most 10,000 record ids
MAX_FILE_BYTES = 16 << 20
MAX_TEXT = 512
NONCE_LEN = 16
CST = timezone(timedelta(hours=8), "CST")  # the retention dates are China Standard Time days
DESTROYER_ROLES = PERMISSIONS["destroy"]  # sec-admin (三权分立)
# Fallback log keys (docs/destruction.md §6): roles that run the platform's log, never a provider.
LOG_KEY_ROLES = frozenset({Role.PLATFORM, Role.SYS_ADMIN, Role.AUDIT_ADMIN})

_BODY_KEYS = frozenset(
    {
        "format",
        "id",
        "vault",
        "hash",
        "nonce",
        "destroyed_at",
        "destroyed_by",
        "rule",
        "records",
        "counts",
        "audit",
    }
)
_MANIFEST_EXCLUDES = ("id", "destroyed_at", "counts", "audit")
_RECORD_KEYS = frozenset({"record_id", "package_id", "kind", "subjects", "digests", "keep_until"})
_AUDIT_KEYS = frozenset({"origin", "hash", "seq", "leaf_hash", "entry", "checkpoint", "proof"})
_COUNT_NAMES = ("digests", "packages", "records", "subjects")
_ID_RE = re.compile(r"\Adc1[a-z2-7]{26}\Z")
_VAULT_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_PACKAGE_RE = _VAULT_RE
_KIND_RE = re.compile(r"\A[a-z][a-z0-9_-]{0,31}\Z")
_LABEL_RE = re.compile(r"\A[a-z0-9_.:-]{1,64}\Z")
_RULE_ID_RE = re.compile(r"\A[a-z0-9][a-z0-9._:-]{0,63}\Z")
_KEY_ID_RE = re.compile(r"\Axk1[a-z2-7]{24}\Z")
_NAME_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")  # docs/keys.md §2.1
# xinan.masking.pseudonym: ps1.<secret key id>.<128-bit tag>, lower-case base32 (no 0, 1, 8, 9)
_PSEUDONYM_RE = re.compile(r"\Aps1\.xs1[a-z2-7]{1,61}\.[a-z2-7]{26}\Z")
_DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_TIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_HASHES = frozenset({"sha256", "sm3"})


# ============================================================================================
# Errors (docs/destruction.md §6). Before the signature: opaque. After it: specific.
# ============================================================================================


# ============================================================================================
# §3 The model
# ============================================================================================
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: object, where: str, length: int | None = None) -> bytes:
    if not isinstance(s, str):
        raise CertificateMalformed(f"certificate: {where} must be base64 text")
    try:
        out = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise CertificateMalformed(f"certificate: {where} is not base64") from None
    if _b64(out) != s or (length is not None and len(out) != length):
        raise CertificateMalformed(f"certificate: {where} is not {length or 'canonical'} bytes")
    return out


def _has_control(s: str) -> bool:
    # str.isprintable is False for control, format, surrogate and unassigned characters; the
    # ideographic space U+3000 is ordinary Chinese text
    return not s.replace("\u3000", " ").isprintable()


def _text(value: object, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CertificateMalformed(f"certificate: {where} must be non-empty text")
    if len(value) > limit or _has_control(value):
        raise CertificateMalformed(
            f"certificate: {where} is longer than {limit} characters or has control characters"
        )
    return value


def _match(value: object, pattern: re.Pattern[str], where: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise CertificateMalformed(f"certificate: {where} is not {what}")
    return value


def _date(value: object, where: str) -> date:
    s = _match(value, _DATE_RE, where, "a date YYYY-MM-DD")
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise CertificateMalformed(f"certificate: {where} is not a date") from None


def _members(
    obj: object, where: str, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CertificateMalformed(f"certificate: {where} must be an object")
    req, opt = set(required), set(optional)
    missing = req - set(obj)
    if missing:
        raise CertificateMalformed(f"certificate: {where} lacks {', '.join(sorted(missing))}")
    extra = set(obj) - req - opt
    if extra:
        raise CertificateMalformed(f"certificate: {where} has unknown {', '.join(sorted(extra))}")
    return obj


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CertificateMalformed(f"certificate: {where} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class Destroyer:
    """Who destroyed: a keyring identity of role ``sec-admin`` (docs/destruction.md §3.2)."""

    id: str
    key_id: str
    role: str

    @classmethod
    def of(cls, info: PublicKeyInfo) -> Destroyer:
        return cls(info.id, info.key_id, info.role.value)

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "key_id": self.key_id, "role": self.role}


@dataclass(frozen=True)
class Rule:
    """Under which rule (docs/destruction.md §3.5): ``retention`` or ``manual``.

    Use :meth:`retention` or :meth:`manual`; the constructor checks the members.
    """

    kind: str
    id: str
    citation: str | None = None
    as_of: date | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        _match(self.id, _RULE_ID_RE, "rule.id", "a rule id [a-z0-9][a-z0-9._:-]{0,63}")
        if self.kind == "retention":
            if not self.id.startswith("retention:"):
                raise CertificateMalformed("certificate: a retention rule's id starts 'retention:'")
            _text(self.citation, "rule.citation")
            if not isinstance(self.as_of, date) or self.reason is not None:
                raise CertificateMalformed("certificate: a retention rule has as_of and no reason")
        elif self.kind == "manual":
            if self.id != "manual" or self.citation is not None or self.as_of is not None:
                raise CertificateMalformed(
                    "certificate: a manual rule has id 'manual' and a reason"
                )
            _text(self.reason, "rule.reason")
        else:
            raise CertificateMalformed(f"certificate: unknown rule kind {self.kind!r}")

    @classmethod
    def retention(cls, *, citation: str, as_of: date, id: str = "retention:negative-5y") -> Rule:
        """Retention ran out (征信业管理条例 第十六条): each record carries its ``keep_until``."""
        return cls("retention", id, citation=citation, as_of=as_of)

    @classmethod
    def manual(cls, reason: str, *, today: date) -> Rule:
        """A person decided (e.g. a court order). The reason is logged and MUST NOT name anyone:
        a reason holding a resident ID, mobile or bank card number (by shape, valid or not) is
        refused (:func:`xinan.shapes.clear_identifier_kind`, the one rule for staff text)."""
        rule = cls("manual", "manual", reason=reason)
        kind = clear_identifier_kind(reason, today=today)
        if kind:
            raise ClearIdentifierRefused(
                f"the destruction reason holds a {kind} number in clear; reasons are logged "
                "and certified",
                rule="destruction-reason-pseudonymous",
                hint="cite the decision by its reference number, never the person's identifiers",
            )
        return rule

    def to_json(self) -> dict[str, str]:
        out = {"kind": self.kind, "id": self.id}
        if self.kind == "retention":
            out["citation"] = str(self.citation)
            out["as_of"] = str(self.as_of)
        else:
            out["reason"] = str(self.reason)
        return out

    @classmethod
    def from_json(cls, obj: object) -> Rule:
        if isinstance(obj, dict) and obj.get("kind") == "retention":
            m = _members(obj, "rule", ("kind", "id", "citation", "as_of"))
            return cls("retention", m["id"], m["citation"], _date(m["as_of"], "rule.as_of"))
        m = _members(obj, "rule", ("kind", "id", "reason"))
        return cls(_text(m["kind"], "rule.kind"), m["id"], reason=m["reason"])


@dataclass(frozen=True)
class DestroyedRecord:
    """One record destroyed (docs/destruction.md §3.3). ``digests``: label → digest bytes."""

    record_id: str
    package_id: str
    kind: str
    subjects: tuple[str, ...]
    digests: Mapping[str, bytes]
    keep_until: date | None = None

    def __post_init__(self) -> None:
        _text(self.record_id, "records[].record_id", 256)
        _match(self.package_id, _PACKAGE_RE, "records[].package_id", "a package id (32 hex)")
        _match(self.kind, _KIND_RE, "records[].kind", "a record kind")
        if list(self.subjects) != sorted(set(self.subjects)):
            raise CertificateMalformed("certificate: records[].subjects must be sorted and unique")
        for s in self.subjects:
            _match(s, _PSEUDONYM_RE, "records[].subjects[]", "a keyed pseudonym ps1.xs1….…")
        if not self.digests:
            raise CertificateMalformed("certificate: a destroyed record needs at least one digest")
        for label, d in self.digests.items():
            _match(label, _LABEL_RE, "records[].digests label", "a digest label")
            if not isinstance(d, bytes) or len(d) != 32:
                raise CertificateMalformed(f"certificate: digest {label!r} is not 32 bytes")
        if self.keep_until is not None and not isinstance(self.keep_until, date):
            raise CertificateMalformed("certificate: records[].keep_until must be a date")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": self.record_id,
            "package_id": self.package_id,
            "kind": self.kind,
            "subjects": list(self.subjects),
            "digests": {k: _b64(v) for k, v in sorted(self.digests.items())},
        }
        if self.keep_until is not None:
            out["keep_until"] = self.keep_until.isoformat()
        return out

    @classmethod
    def from_json(cls, obj: object, i: int) -> DestroyedRecord:
        where = f"records[{i}]"
        m = _members(obj, where, _RECORD_KEYS - {"keep_until"}, ("keep_until",))
        subjects = m["subjects"]
        digests = m["digests"]
        if not isinstance(subjects, list) or not isinstance(digests, dict):
            raise CertificateMalformed(f"certificate: {where} subjects/digests malformed")
        return cls(
            record_id=m["record_id"],
            package_id=m["package_id"],
            kind=m["kind"],
            subjects=tuple(subjects),
            digests={str(k): _unb64(v, f"{where}.digests.{k}", 32) for k, v in digests.items()},
            keep_until=_date(m["keep_until"], f"{where}.keep_until") if "keep_until" in m else None,
        )


@dataclass(frozen=True)
class Destruction:
    """The manifest of one destruction, known before its audit entry (docs/destruction.md §3.6).

    Make it with :func:`plan_destruction`; record ``audit_event()`` through the destroyer's
    session before the commit that destroys anything.
    """

    vault_id: str
    hash: str
    nonce: bytes
    destroyed_by: Destroyer
    rule: Rule
    records: tuple[DestroyedRecord, ...]

    def __post_init__(self) -> None:
        _match(self.vault_id, _VAULT_RE, "vault", "a vault id (32 hex)")
        if self.hash not in _HASHES:
            raise CertificateMalformed("certificate: hash must be sha256 or sm3")
        if len(self.nonce) != NONCE_LEN:
            raise CertificateMalformed(f"certificate: nonce must be {NONCE_LEN} bytes")
        _match(self.destroyed_by.id, _NAME_RE, "destroyed_by.id", "a key name")
        _match(self.destroyed_by.key_id, _KEY_ID_RE, "destroyed_by.key_id", "a key id xk1…")
        if not 1 <= len(self.records) <= MAX_RECORDS:
            raise CertificateMalformed(
                f"certificate: records must hold 1 to {MAX_RECORDS} records (split larger runs)"
            )
        ids = [r.record_id for r in self.records]
        if ids != sorted(set(ids)):
            raise CertificateMalformed("certificate: records must be sorted by id and unique")
        retention = self.rule.kind == "retention"
        for r in self.records:
            if (r.keep_until is not None) != retention:
                raise CertificateMalformed(
                    f"certificate: record {r.record_id!r}: keep_until is required under a "
                    "retention rule and absent otherwise"
                )
        if len(self.subjects) > MAX_RECORDS:
            raise CertificateMalformed(f"certificate: more than {MAX_RECORDS} distinct subjects")

    @property
    def subjects(self) -> list[str]:
        return sorted({s for r in self.records for s in r.subjects})

    @property
    def counts(self) -> dict[str, int]:
        return {
            "digests": sum(len(r.digests) for r in self.records),
            "packages": len({r.package_id for r in self.records}),
            "records": len(self.records),
            "subjects": len(self.subjects),
        }

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "vault": self.vault_id,
            "hash": self.hash,
            "nonce": _b64(self.nonce),
            "destroyed_by": self.destroyed_by.to_json(),
            "rule": self.rule.to_json(),
            "records": [r.to_json() for r in self.records],
        }

    @property
    def id(self) -> str:
        """``dc1`` + base32 of 128 bits of H("xinan-destruction/1 id" 0x00 ‖ manifest)."""
        msg = FORMAT.encode() + b" id\x00" + canonical_json(self.manifest())
        d = hash_function(self.hash)(msg)[:16]
        return "dc1" + base64.b32encode(d).decode("ascii").rstrip("=").lower()

    def audit_event(self) -> dict[str, Any]:
        """The keyword arguments of ``Session.record`` for this destruction (§4)."""
        why = {"basis": self.rule.id}
        if self.rule.reason is not None:
            why["purpose"] = self.rule.reason
        return {
            "type_": "destroy",
            "outcome": "success",
            "objects": {
                "record_ids": [r.record_id for r in self.records],
                "counts": self.counts,
                "ref": f"destruction:{self.id}",
            },
            "why": why,
            "subjects": self.subjects,
        }


def plan_destruction(
    *,
    vault_id: str,
    records: Iterable[DestroyedRecord],
    rule: Rule,
    destroyer: PublicKeyInfo,
    nonce: bytes | None = None,
) -> Destruction:
    """Check and fix the manifest of a destruction (docs/destruction.md §2 step 3).

    ``records`` are sorted by id here. Raises :class:`CertificateMalformed` naming the member,
    and :class:`CertificateSignerNotAuthorised` unless ``destroyer`` is a security administrator.
    """
    if destroyer.role not in DESTROYER_ROLES:
        raise CertificateSignerNotAuthorised(
            f"{destroyer.id} ({destroyer.role.value}) may not destroy; only a sec-admin may",
            hint="act as the security administrator's identity (三权分立)",
        )
    records = list(records)
    if rule.kind == "retention" and rule.as_of is not None:
        for r in records:
            if r.keep_until is None or not r.keep_until < rule.as_of:
                raise RuleNotMet(
                    f"record {r.record_id!r} must be kept until {r.keep_until}: not expired on "
                    f"{rule.as_of}",
                    hint="only records past their retention (keep_until before as_of) are due",
                )
    return Destruction(
        vault_id=vault_id,
        hash=HASH_FOR_SUITE[destroyer.suite],  # the destroyer suite's hash (§2): SM3 in gm
        nonce=nonce if nonce is not None else secrets.token_bytes(NONCE_LEN),
        destroyed_by=Destroyer.of(destroyer),
        rule=rule,
        records=tuple(sorted(records, key=lambda r: r.record_id)),
    )


@dataclass(frozen=True)
class AuditReference:
    """The audit entry a certificate matches, with an optional proof (docs/destruction.md §3.8)."""

    origin: str
    hash: str
    seq: int
    leaf_hash: bytes
    entry: Mapping[str, Any]
    checkpoint: str | None = None
    proof: tuple[bytes, ...] = ()

    def line(self) -> bytes:
        return canonical_json(self.entry)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "origin": self.origin,
            "hash": self.hash,
            "seq": self.seq,
            "leaf_hash": _b64(self.leaf_hash),
            "entry": dict(self.entry),
        }
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
            out["proof"] = [_b64(x) for x in self.proof]
        return out

    @classmethod
    def from_json(cls, obj: object) -> AuditReference:
        m = _members(
            obj, "audit", ("origin", "hash", "seq", "leaf_hash", "entry"), ("checkpoint", "proof")
        )
        if ("checkpoint" in m) != ("proof" in m):
            raise CertificateMalformed("certificate: audit.checkpoint and audit.proof go together")
        if m["hash"] not in _HASHES:
            raise CertificateMalformed("certificate: audit.hash must be sha256 or sm3")
        if not isinstance(m["entry"], dict):
            raise CertificateMalformed("certificate: audit.entry must be an object")
        proof = m.get("proof", [])
        if not isinstance(proof, list) or len(proof) > 64:
            raise CertificateMalformed("certificate: audit.proof must be a list of hashes")
        cp = m.get("checkpoint")
        if cp is not None and not isinstance(cp, str):
            raise CertificateMalformed("certificate: audit.checkpoint must be a signed note")
        return cls(
            origin=_text(m["origin"], "audit.origin"),
            hash=m["hash"],
            seq=_int(m["seq"], "audit.seq"),
            leaf_hash=_unb64(m["leaf_hash"], "audit.leaf_hash", 32),
            entry=m["entry"],
            checkpoint=cp,
            proof=tuple(_unb64(x, "audit.proof[]", 32) for x in proof),
        )


@dataclass(frozen=True)
class Certificate:
    """A destruction certificate's body: the manifest, when, and its audit entry."""

    destruction: Destruction
    destroyed_at: str
    audit: AuditReference

    @property
    def id(self) -> str:
        return self.destruction.id

    def to_json(self) -> dict[str, Any]:
        d = self.destruction
        body = d.manifest()
        body.update(
            id=d.id, destroyed_at=self.destroyed_at, counts=d.counts, audit=self.audit.to_json()
        )
        return body


@dataclass(frozen=True)
class VerifiedCertificate:
    """What :func:`verify_certificate` established."""

    certificate: Certificate
    signer: PublicKeyInfo
    checkpoint_signer: str | None  # the log key that signed the checkpoint(s) checked
    checkpoint_size: int | None  # the certificate's own checkpoint
    log: str | None = None  # the log checked against, if any
    log_size: int | None = None  # the latest signed checkpoint the entry was proven under
    consistency_checked: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        c = self.certificate
        return {
            "ok": True,
            "id": c.id,
            "signer": {
                "id": self.signer.id,
                "key_id": self.signer.key_id,
                "role": self.signer.role.value,
            },
            "audit": {
                "origin": c.audit.origin,
                "seq": c.audit.seq,
                "checkpoint_size": self.checkpoint_size,
                "checkpoint_signer": self.checkpoint_signer,
                "log": self.log,
                "log_size": self.log_size,
                "consistency_checked": self.consistency_checked,
            },
            "notes": list(self.notes),
            "certificate": c.to_json(),
        }


# ============================================================================================
# §4–§5 Building
# ============================================================================================
def _check_entry(d: Destruction, audit: AuditReference, destroyed_at: str) -> None:
    """docs/destruction.md §6 step 6 (entry part): the entry is this destruction's."""
    h = get_hash(audit.hash)
    line = audit.line()
    if h.leaf(line) != audit.leaf_hash:
        raise AuditEntryMismatch(
            f"audit entry {audit.seq}: leaf hash does not match the entry", member="leaf_hash"
        )
    try:
        e = parse_entry(line)
    except ValueError as exc:
        raise AuditEntryMismatch(
            f"audit.entry is not an audit entry ({exc})", member="entry"
        ) from None
    seq = audit.seq
    if e["seq"] != seq:
        raise AuditEntryMismatch(
            f"audit entry: the entry carried is seq {e['seq']}, the certificate names {seq}",
            member="seq",
        )
    if e["type"] != "destroy" or e["outcome"] != "success":
        raise AuditEntryMismatch(
            f"audit entry {seq} is a {e['type']!r} event with outcome {e['outcome']!r}, "
            "not a successful destroy",
            member="type",
        )
    if e["time"] != destroyed_at:
        raise AuditEntryMismatch(
            f"audit entry {seq} was written at {e['time']}, the certificate says {destroyed_at}",
            member="time",
        )
    if e["actor"] != {"key_id": d.destroyed_by.key_id, "role": d.destroyed_by.role}:
        raise AuditEntryMismatch(
            f"audit entry {seq} was written by {e['actor']['key_id']}, not the destroyer",
            member="actor",
        )
    expected = d.audit_event()
    objects = e["objects"]
    for name in ("ref", "record_ids", "counts"):
        if objects.get(name) != expected["objects"][name]:
            raise AuditEntryMismatch(
                f"audit entry {seq}: objects.{name} differs from the certificate's",
                member=f"objects.{name}",
            )
    if set(objects) != set(expected["objects"]):
        raise AuditEntryMismatch(
            f"audit entry {seq}: objects has other members than a destruction's", member="objects"
        )
    if e["why"] != expected["why"]:
        raise AuditEntryMismatch(
            f"audit entry {seq}: why differs from the certificate's rule", member="why"
        )
    if e["subjects"] != expected["subjects"]:
        raise AuditEntryMismatch(
            f"audit entry {seq}: subjects differ from the certificate's", member="subjects"
        )


def _line_at(log: Path, start: int, seq: int) -> bytes | None:
    """The line of entry ``seq`` (``start`` = entries pruned), or None past the end."""
    with log.open("rb") as f:
        for i, raw in enumerate(f):
            if i == seq - start:
                return raw.rstrip(b"\n") if raw.endswith(b"\n") else None
    return None


def audit_reference(log: str | Path, seq: int) -> AuditReference:
    """The entry ``seq`` of ``log``, proven under the log's latest signed checkpoint.

    Call it after the destroy entry was recorded (``Session.record`` returns ``seq`` only once a
    checkpoint covers it). The proof is checked against the signed root before it is returned.
    """
    path = Path(log)
    tree, note = load_tree(path)
    cp = Checkpoint.parse(parse_note(note).text)
    if not tree.start <= seq < cp.size:
        raise AuditEntryNotCovered(f"{path}: entry {seq} is not under the latest checkpoint")
    line = _line_at(path, tree.start, seq)
    if line is None:
        raise AuditEntryMissing(f"{path}: no entry {seq}")
    leaf = tree.h.leaf(line)
    proof = tree.inclusion_proof(seq, cp.size)
    verify_inclusion(tree.h, leaf, seq, cp.size, proof, cp.root)
    try:
        entry = parse_entry(line)  # docs/audit-log.md §2: a canonical entry, or refused
    except ValueError as e:
        raise AuditEntryMismatch(
            f"{path}: entry {seq} is not an audit entry ({e})", member="entry"
        ) from None
    return AuditReference(
        origin=cp.origin,
        hash=cp.hash_name,
        seq=seq,
        leaf_hash=leaf,
        entry=entry,
        checkpoint=note.decode("utf-8"),
        proof=tuple(proof),
    )


def build_certificate(destruction: Destruction, audit: AuditReference) -> Certificate:
    """The certificate of ``destruction``, whose entry is ``audit`` (docs/destruction.md §5).

    Refuses (:class:`AuditEntryMismatch`) an entry that is not this destruction's.
    """
    destroyed_at = audit.entry.get("time")
    if not isinstance(destroyed_at, str) or not _TIME_RE.match(destroyed_at):
        raise AuditEntryMismatch("audit.entry has no canonical time", member="time")
    _check_entry(destruction, audit, destroyed_at)
    return Certificate(destruction, destroyed_at, audit)


def _signed_bytes(body: Mapping[str, Any]) -> bytes:
    return FORMAT.encode() + b"\x00" + canonical_json(body)


def _file_bytes(doc: Mapping[str, Any]) -> bytes:
    return pretty_json(doc, sort=True)  # §3.1


def sign_certificate(cert: Certificate, identity: Identity) -> bytes:
    """The certificate file (docs/destruction.md §3.1), signed by the destroyer's key."""
    d = cert.destruction.destroyed_by
    info = identity.info
    if (info.id, info.key_id, info.role.value) != (d.id, d.key_id, d.role):
        raise CertificateSignerNotAuthorised(
            f"{info.id} is not the destroyer named in the certificate ({d.id})"
        )
    if HASH_FOR_SUITE[info.suite] != cert.destruction.hash:
        raise CertificateMalformed("certificate: hash is not the destroyer suite's hash")
    body = cert.to_json()
    sig = identity.sign(_signed_bytes(body))
    doc = {
        "format": FORMAT,
        "certificate": body,
        "signature": {"alg": identity.suite.sig_name, "key_id": info.key_id, "value": _b64(sig)},
    }
    return _file_bytes(doc)


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


def _log_verifiers(
    name: str,
    keys: Sequence[PublicKeyInfo],
    log_keys: Sequence[NoteVerifier] | None,
    audit_log: Path | None,
) -> list[tuple[NoteVerifier, str]]:
    """Verifiers for checkpoints of the log named ``name`` (its origin: the note key name),
    each with a label naming the key (docs/destruction.md §6, "Log keys")."""
    if log_keys:
        return [(v, f"{v.name} (given key)") for v in log_keys]
    if audit_log is not None and Path(str(audit_log) + ".config").exists():
        cfg = load_audit_config(audit_log)
        info = next((k for k in keys if k.key_id == cfg.log_key_id), None)
        if info is None:
            raise CertificateRejected(
                f"{audit_log}: the log's key {cfg.log_key} ({cfg.log_key_id}) is not in the "
                "trust store",
                hint="add the platform's public key with `xinan keys add`, or pass --key VKEY",
            )
        return [(note_verifier(name, info), f"{info.id} ({info.key_id}, {info.role.value})")]
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
        return _log_verifiers(name, keys, log_keys, log)

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


# -- residue scan -------------------------------------------------------------------------------
CHUNK = 1 << 20
MIN_NEEDLE = 8


@dataclass(frozen=True)
class Finding:
    """A needle found in a file: where and in which encoding — never the needle itself."""

    path: str
    offset: int
    needle: int  # index into the needles given
    form: str  # raw | hex | HEX | base64 | base64url

    def __str__(self) -> str:
        return f"{self.path}: byte {self.offset}: needle {self.needle} ({self.form})"


def _b64_aligned(needle: bytes, shift: int, urlsafe: bool) -> bytes:
    """The base64 characters fully determined by ``needle`` when it starts ``shift`` bytes
    after a 3-byte group boundary of a longer base64 text (RFC 4648 §4 / §5)."""
    enc = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(
        b"\0" * shift + needle + b"\0\0"
    )
    lo, hi = 8 * shift, 8 * (shift + len(needle))
    first = -(-lo // 6)  # first character whose 6 bits start at or after lo
    last = hi // 6  # characters wholly before hi
    return enc[first:last]


def _forms(needle: bytes) -> list[tuple[str, bytes]]:
    out = [("raw", needle), ("hex", needle.hex().encode()), ("HEX", needle.hex().upper().encode())]
    for urlsafe, name in ((False, "base64"), (True, "base64url")):
        for shift in range(3):
            out.append((name, _b64_aligned(needle, shift, urlsafe)))
    seen: set[bytes] = set()
    unique = []
    for name, pat in out:
        if pat not in seen:
            seen.add(pat)
            unique.append((name, pat))
    return unique


def sqlite_files(db: str | Path) -> list[Path]:
    """A database file and its ``-wal``, ``-shm`` and ``-journal`` files (those that exist)."""
    p = Path(db)
    return [x for x in (p, *(Path(f"{p}{s}") for s in ("-wal", "-shm", "-journal"))) if x.exists()]


def residue_scan(paths: Iterable[str | Path], needles: Sequence[bytes]) -> list[Finding]:
    """Every occurrence of every needle, raw, hex or base64 (any alignment), in the raw bytes
    of ``paths`` (files that do not exist are skipped). Streams; O(bytes × needles)."""
    patterns: list[tuple[int, str, bytes]] = []
    for i, n in enumerate(needles):
        if len(n) < MIN_NEEDLE:
            raise UsageError(
                f"needle {i} is shorter than {MIN_NEEDLE} bytes (would match by chance)"
            )
        patterns.extend((i, form, pat) for form, pat in _forms(n))
    if not patterns:
        return []
    overlap = max(len(p) for _, _, p in patterns) - 1
    found: set[tuple[str, int, int, str]] = set()
    for path in paths:
        p = Path(path)
        if not p.is_file():
            continue
        with p.open("rb") as f:
            base = 0  # file offset of buf[0]
            buf = b""
            while chunk := f.read(CHUNK):
                buf += chunk
                for i, form, pat in patterns:
                    at = buf.find(pat)
                    while at >= 0:
                        found.add((str(p), base + at, i, form))
                        at = buf.find(pat, at + 1)
                # keep a tail so that a match across the chunk boundary is found next time
                keep = min(overlap, len(buf))
                base += len(buf) - keep
                buf = buf[len(buf) - keep :] if keep else b""
    return [Finding(*x) for x in sorted(found)]
