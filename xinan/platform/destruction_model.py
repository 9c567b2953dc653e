"""The destruction certificate's model (docs/destruction.md §3): the destroyer, the rule, the
destroyed records, the destruction and its content-addressed id (§3.6), the audit reference, the
certificate and the signed file form (§3.1, §3.7).

Owns: the ``xinan-destruction/1`` data model, its JSON form and the checks a model makes on
construction. Does not own: building a certificate from the log
(:mod:`xinan.platform.destruction_build`), verifying one (:mod:`xinan.platform.destruction_verify`),
residue scans (:mod:`xinan.platform.destruction_residue`). Import from
:mod:`xinan.platform.destruction`, which re-exports all of them.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from typing import Any

from xinan._codec import b64decode, b64encode, canonical_json, pretty_json
from xinan.access import PERMISSIONS
from xinan.crypto.recipes import HASH_FOR_SUITE, hash_function
from xinan.errors import (
    CertificateMalformed,
    CertificateSignerNotAuthorised,
    ClearIdentifierRefused,
    RuleNotMet,
)
from xinan.keys import PublicKeyInfo, Role
from xinan.shapes import clear_identifier_kind

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
_b64 = b64encode


def _unb64(s: object, where: str, length: int | None = None) -> bytes:
    try:
        out = b64decode(s)  # canonical base64 only (docs/encoding.md)
    except ValueError as e:
        raise CertificateMalformed(f"certificate: {where}: {e}") from None
    if length is not None and len(out) != length:
        raise CertificateMalformed(f"certificate: {where} is not {length} bytes")
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


def _signed_bytes(body: Mapping[str, Any]) -> bytes:
    return FORMAT.encode() + b"\x00" + canonical_json(body)


def _file_bytes(doc: Mapping[str, Any]) -> bytes:
    return pretty_json(doc, sort=True)  # §3.1
