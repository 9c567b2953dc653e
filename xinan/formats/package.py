"""The sealed package format ``xinan-package/1`` (spec: docs/package.md; sections cited as §n).

Owns: writing a package (:func:`seal_package`, :func:`build_share_package`), checking one
(:func:`verify_package`), opening one after the whole of it verified (:func:`open_package`,
:func:`open_package_keys`), and the key schedule the vault and destruction reuse
(:func:`derive_field_key`, :func:`commit_key`, :func:`open_sealed_value`).

Does not own: primitives (every hash, AEAD, wrap and signature goes through a
:class:`~xinan.crypto.base.CryptoSuite`), key files and the trust store (:mod:`xinan.keys`),
masking and which fields are sealed (:mod:`xinan.policy.catalogue`, :mod:`xinan.masking`), where
output
lands on disk (callers write through :func:`xinan.fileio.atomic_writer`).

Performance (§9): nothing asymmetric happens per record; the package-key AEAD object is
built once; field keys cost one hash each and commitments one hash each; record lines are
assembled as bytes from C-level JSON string escaping and binascii base64, and are hashed and
written in batches. ``bench/seal.py`` measures the ratio to bare AEAD calls.
"""

from __future__ import annotations

import binascii
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import IO, Any, NamedTuple, Protocol

from xinan._codec import compact_json, is_compact_json, loads_canonical
from xinan.crypto import get_suite
from xinan.crypto.base import Aead, CryptoSuite, Hasher, PrivateKey, SuiteName
from xinan.errors import (
    InputError,
    IntegrityError,
    KeyringError,
    MalformedJSON,
    UsageError,
    VerificationError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FORMAT",
    "KeyedRecord",
    "Limits",
    "OpenedRecord",
    "PackageInfo",
    "PackageMeta",
    "SealRecord",
    "SealSummary",
    "ShareRecord",
    "build_share_package",
    "commit_key",
    "derive_field_key",
    "open_package",
    "open_package_keys",
    "open_sealed_value",
    "seal_package",
    "verify_package",
]

# -- §1 notation, labels ------------------------------------------------------------------
FORMAT = "xinan-package/1"
_V = FORMAT.encode("ascii")
_MAGIC = b'{"format":"xinan-package/1",'
_TRAILER_MAGIC = b'{"trailer":"xinan-package/1",'
L_FK = _V + b" field-key\x00"
L_FC = _V + b" field-key-commitment\x00"
L_PC = _V + b" package-key-commitment\x00"
L_RK = _V + b" record-key\x00"
L_VALUE = _V + b" value\x00"
L_RECIPIENT = _V + b" recipient\x00"
L_FKW = _V + b" field-key-wrap\x00"
L_RW = _V + b" release-wrap\x00"
L_SIG = _V + b" signature\x00"
INFO_PK = _V + b" package-key"
_CTR1 = b"\x00\x00\x00\x01"  # SP 800-56C Rev. 2 §4.1: 32-bit counter, first (only) block
_ZERO_NONCE = bytes(12)  # §5.3: each field key encrypts exactly one value
NONCE_LEN = 12
TAG_LEN = 16
AUDIENCES = ("submission", "share")
RELEASE_MODES = ("none", "per-record")
RELEASE_SECRET_LEN = 32
_HEADER_KEYS = (
    "format",
    "id",
    "suite",
    "audience",
    "created",
    "sender",
    "policy",
    "kind",
    "grant",
    "release",
    "clear",
    "sealed",
    "key_commitment",
    "recipients",
)
# Control characters (C0, DEL, C1) and lone surrogates: a name or id holding one is not text.
_CTRL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_ESC = re.compile(r'[\x00-\x1f"\\]')
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_CREATED = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_B64_CHUNK = 1024  # records per write/hash batch when sealing
_RNG_BATCH = 1024  # record keys drawn from the CSPRNG per call
_VERIFY_CHUNK_BYTES = 1 << 20  # open: bytes per re-checked chunk in the second pass (§8)

_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64


@dataclass(frozen=True)
class Limits:
    """Parser limits (§8). Every one is enforced before the work it bounds."""

    max_header_bytes: int = 1 << 20
    max_line_bytes: int = 1 << 20
    max_recipients: int = 16
    max_fields: int = 256
    max_records: int = 1_000_000_000
    max_name_chars: int = 128
    max_record_id_chars: int = 256
    max_key_id_chars: int = 128
    max_wrapped_bytes: int = 8192


DEFAULT_LIMITS = Limits()


# -- key protocols: xinan.keys.Identity and xinan.keys.PublicKeyInfo satisfy them -----------
class SignerKey(Protocol):
    """The sender: a key id and its private signing key handle (``keys.Identity``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def signing(self) -> PrivateKey: ...


class KemKey(Protocol):
    """An opener: a key id and its private KEM (unwrapping) key handle (``keys.Identity``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def kem(self) -> PrivateKey: ...


class PublicKeys(Protocol):
    """Another party's public keys, as the trust store holds them (``keys.PublicKeyInfo``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def suite(self) -> SuiteName: ...

    @property
    def sig(self) -> bytes: ...

    @property
    def kem(self) -> bytes: ...


TrustLookup = Callable[[str], PublicKeys | None]  # key id -> keys; None or KeyringError
# (share package id hex, record id) -> R, or None: the platform withheld that record (§6.3)
ReleaseLookup = Callable[[str, str], bytes | None]


# -- models ---------------------------------------------------------------------------------
class SealRecord(NamedTuple):
    """One record to seal: values aligned with ``PackageMeta.clear_fields``/``sealed_fields``.

    A NamedTuple rather than a dataclass: it is built once per record on the hot path.
    """

    record_id: str
    clear: Sequence[str]
    sealed: Sequence[str]

    @classmethod
    def from_mapping(cls, record_id: str, values: dict[str, str], meta: PackageMeta) -> SealRecord:
        """Pick the header's fields out of a mapping; a missing field is an InputError."""
        try:
            return cls(
                record_id,
                [values[n] for n in meta.clear_fields],
                [values[n] for n in meta.sealed_fields],
            )
        except KeyError as e:
            raise InputError(f"record {record_id!r}: field {e.args[0]!r} missing") from None


class OpenedRecord(NamedTuple):
    """A record after opening: sealed values in the header's order (None = not in a share)."""

    position: int  # 0-based place in the package
    record_id: str
    source_package_id: str
    clear: tuple[str, ...]
    sealed: tuple[str | None, ...]


class KeyedRecord(NamedTuple):
    """A verified record with its keys and raw ``C ‖ E`` blobs, no plaintext (vault ingest,
    share building). ``record_key`` is None in a share (a share never carries one)."""

    position: int  # 0-based place in the package
    record_id: str
    source_package_id: str
    clear: tuple[str, ...]
    blobs: tuple[bytes | None, ...]
    field_keys: tuple[bytes | None, ...]
    record_key: bytes | None


class ShareRecord(NamedTuple):
    """One record for a share (§6): the original blobs and field keys of the granted fields,
    aligned with the share's ``sealed_fields`` (None = not granted for this record)."""

    record_id: str
    source_package_id: str
    clear: Sequence[str]
    blobs: Sequence[bytes | None]
    field_keys: Sequence[bytes | None]
    release_secret: bytes | None = None


@dataclass(frozen=True)
class PackageMeta:
    """What the sender states in the header besides keys (§3)."""

    policy_id: str
    policy_version: str
    kind: str
    clear_fields: tuple[str, ...]
    sealed_fields: tuple[str, ...]


@dataclass(frozen=True)
class SealSummary:
    package_id: str
    suite: SuiteName
    audience: str
    count: int
    records_digest: bytes
    wraps: int  # asymmetric wraps done (one per recipient)
    signatures: int  # always 1


@dataclass(frozen=True)
class PackageInfo:
    """A verified package's header and trailer facts."""

    package_id: str
    suite: SuiteName
    audience: str
    created: str
    sender: str
    policy_id: str
    policy_version: str
    kind: str
    grant: str | None
    release: str
    clear_fields: tuple[str, ...]
    sealed_fields: tuple[str, ...]
    recipients: tuple[str, ...]
    key_commitment: bytes = field(repr=False)
    count: int = 0
    records_digest: bytes = b""

    def check_same(self, opened: PackageInfo) -> None:
        """Raise unless ``opened`` (a second pass over a package) is the package this one was
        verified as: same id and same records. A file swapped or rewritten between the pass
        that was verified and logged and the pass that decrypts must release nothing
        (issue 11: one snapshot per operation)."""
        if (opened.package_id, opened.records_digest, opened.count) != (
            self.package_id,
            self.records_digest,
            self.count,
        ):
            raise IntegrityError(
                "package changed while it was being opened: the records decrypted are not "
                "those verified and logged",
                hint="nothing was written; keep the package where no one else can change it "
                "and open it again",
            )


# -- §1 encoding helpers --------------------------------------------------------------------
def enc(s: str) -> bytes:
    """``u16(len) ‖ UTF-8``: length-prefixed so that no two inputs share an encoding."""
    b = s.encode("utf-8")
    return len(b).to_bytes(2, "big") + b


def _b64(b: bytes) -> str:
    return _b2a(b, newline=False).decode("ascii")


def _unb64(s: object, what: str) -> bytes:
    """Strict, canonical base64 (§1): decode, re-encode, compare."""
    if type(s) is not str:
        raise VerificationError(f"{what}: not a base64 string")
    try:
        raw = _a2b(s, strict_mode=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what}: not valid base64") from None
    if _b2a(raw, newline=False).decode("ascii") != s:
        raise VerificationError(f"{what}: base64 not in canonical form")
    return raw


def _check_text(s: object, limit: int, what: str) -> str:
    if type(s) is not str or not 1 <= len(s) <= limit or _CTRL.search(s):
        raise VerificationError(
            f"{what}: must be a string of 1..{limit} characters without control characters"
        )
    return s


# -- §5 key schedule (the vault and destruction reuse these) ------------------------------
def commit_key(suite: CryptoSuite, label: bytes, key: bytes) -> bytes:
    """§5.4: ``H(label ‖ key)``: binds a ciphertext to exactly one key."""
    return suite.digest(label + key)


def derive_field_key(
    suite: CryptoSuite, package_id: str, record_key: bytes, record_id: str, field_name: str
) -> bytes:
    """§5.3: the field key of ``field_name`` in record ``record_id`` of package
    ``package_id`` (hex), by the SP 800-56C Rev. 2 §4.1 one-step KDF over the suite hash."""
    pid = bytes.fromhex(package_id)
    fixed = L_FK + pid + enc(record_id) + enc(field_name)
    return suite.digest(_CTR1 + record_key + fixed)[: suite.key_len]


def _value_aad(pid: bytes, record_id: str, field_name: str) -> bytes:
    return L_VALUE + pid + enc(record_id) + enc(field_name)


def open_sealed_value(
    suite: CryptoSuite,
    blob: bytes,
    field_key: bytes,
    *,
    package_id: str,
    record_id: str,
    field_name: str,
) -> str:
    """Open one sealed value ``C ‖ E`` (§5.3, §5.4): commitment first, then the AEAD.

    ``package_id`` is the package that created the ciphertext. Raises IntegrityError.
    """
    dl = suite.digest_len
    if len(blob) < dl + TAG_LEN or suite.digest(L_FC + field_key) != blob[:dl]:
        raise IntegrityError(f"record {record_id!r}: sealed field {field_name!r} did not open")
    pt = suite.aead(field_key).open(
        _ZERO_NONCE, blob[dl:], _value_aad(bytes.fromhex(package_id), record_id, field_name)
    )
    try:
        return pt.decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError(
            f"record {record_id!r}: sealed field {field_name!r} is not UTF-8"
        ) from None


def _pk_aad(pid: bytes, kc: bytes, *names: str) -> bytes:
    """§5.1 AAD_PK; ``names`` are suite, audience, sender, recipient, in that order."""
    return L_RECIPIENT + pid + b"".join(enc(n) for n in names) + kc


def _release_key(
    suite: CryptoSuite, share_key: bytes, share_pid: bytes, record_id: str, secret: bytes
) -> bytes:
    """§6.1 W for release = "per-record"."""
    return suite.digest(_CTR1 + share_key + L_RW + share_pid + enc(record_id) + secret)[
        : suite.key_len
    ]


def _fkw_aad(share_pid: bytes, source_pid: bytes, record_id: str, field_name: str) -> bytes:
    return L_FKW + share_pid + source_pid + enc(record_id) + enc(field_name)


def _signed_message(suite: CryptoSuite, header_line: bytes, count: int, digest: bytes) -> bytes:
    """§7 M."""
    return L_SIG + suite.digest(header_line) + count.to_bytes(8, "big") + digest


def _trailer_line(count: int, digest: bytes, signature: bytes) -> bytes:
    return (
        f'{{"trailer":"{FORMAT}","count":{count},"records_digest":"{_b64(digest)}",'
        f'"signature":"{_b64(signature)}"}}\n'
    ).encode("ascii")


# -- §3 header, writing ------------------------------------------------------------------
def _check_meta(meta: PackageMeta, limits: Limits) -> None:
    for what, names in (("clear", meta.clear_fields), ("sealed", meta.sealed_fields)):
        for n in names:
            try:
                _check_text(n, limits.max_name_chars, f"{what} field name")
            except VerificationError as e:
                raise UsageError(e.message) from None
        if len(set(names)) != len(names):
            raise UsageError(f"{what} field names repeat")
    if len(meta.clear_fields) + len(meta.sealed_fields) > limits.max_fields:
        raise UsageError(f"more than {limits.max_fields} fields")
    for what, v in (
        ("policy id", meta.policy_id),
        ("policy version", meta.policy_version),
        ("kind", meta.kind),
    ):
        try:
            _check_text(v, limits.max_name_chars, what)
        except VerificationError as e:
            raise UsageError(e.message) from None


def _check_parties(
    suite: CryptoSuite,
    sender: SignerKey,
    recipients: Sequence[PublicKeys],
    limits: Limits,
) -> None:
    """Mixed suites refused (§5.1); bounded, unique recipients."""
    if sender.signing.suite is not suite.name:
        raise UsageError(
            f"sender key {sender.key_id!r} is a {sender.signing.suite.value} key; "
            f"the package suite is {suite.name.value}",
            hint="seal with a sender key of the package's suite",
        )
    if not 1 <= len(recipients) <= limits.max_recipients:
        raise UsageError(f"a package needs 1..{limits.max_recipients} recipients")
    ids = [r.key_id for r in recipients]
    if len(set(ids)) != len(ids):
        raise UsageError("a recipient is listed twice")
    for r in recipients:
        if r.suite is not suite.name:
            raise UsageError(
                f"recipient key {r.key_id!r} is a {r.suite.value} key; "
                f"the package suite is {suite.name.value}",
                hint="every recipient needs a key of the package's suite",
            )
    _check_text(sender.key_id, limits.max_key_id_chars, "sender key id")
    for i in ids:
        _check_text(i, limits.max_key_id_chars, "recipient key id")


def _write_header(
    out: IO[bytes],
    suite: CryptoSuite,
    *,
    pid: bytes,
    package_key: bytes,
    audience: str,
    sender: SignerKey,
    recipients: Sequence[PublicKeys],
    meta: PackageMeta,
    now: datetime,
    grant: str | None,
    release: str,
    limits: Limits,
) -> bytes:
    kc = commit_key(suite, L_PC, package_key)
    sname = suite.name.value
    wrapped = [
        {
            "key_id": r.key_id,
            "wrapped": _b64(
                suite.wrap(
                    r.kem,
                    package_key,
                    INFO_PK,
                    _pk_aad(pid, kc, sname, audience, sender.key_id, r.key_id),
                )
            ),
        }
        for r in recipients
    ]
    if now.tzinfo is None:
        raise UsageError("the creation time must be timezone-aware")
    header: dict[str, Any] = {
        "format": FORMAT,
        "id": pid.hex(),
        "suite": sname,
        "audience": audience,
        "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sender": sender.key_id,
        "policy": {"id": meta.policy_id, "version": meta.policy_version},
        "kind": meta.kind,
        "grant": grant,
        "release": release,
        "clear": list(meta.clear_fields),
        "sealed": list(meta.sealed_fields),
        "key_commitment": _b64(kc),
        "recipients": wrapped,
    }
    line = compact_json(header) + b"\n"  # §2: the one encoding a reader accepts
    if len(line) > limits.max_header_bytes:
        raise UsageError(f"the header would exceed {limits.max_header_bytes} bytes")
    out.write(line)
    return line


def _finish(
    out: IO[bytes],
    *,
    suite: CryptoSuite,
    sender: SignerKey,
    header_line: bytes,
    count: int,
    hasher: Hasher,
    pid: bytes,
    audience: str,
    wraps: int,
) -> SealSummary:
    """Write the trailer (count, records digest, the one signature, §7) and sum up."""
    digest = hasher.finalize()
    sig = suite.sign(sender.signing, _signed_message(suite, header_line, count, digest))
    out.write(_trailer_line(count, digest, sig))
    return SealSummary(
        package_id=pid.hex(),
        suite=suite.name,
        audience=audience,
        count=count,
        records_digest=digest,
        wraps=wraps,
        signatures=1,
    )


# -- seal (submission) --------------------------------------------------------------------
class RecordSealer:
    """The part of a submission record line (§4.1) that does not depend on the record's place
    in the package: its id, clear values and sealed values (§5.3), up to the wrapped record key.

    Pure given (package id, record key): the batch engine runs it in worker processes, and
    :class:`SubmissionWriter` then adds the record key wrapped under the package key, whose
    nonce is the record's index (§5.2). Values are the caller's; nothing is kept.
    """

    def __init__(
        self,
        suite: CryptoSuite,
        package_id: bytes,
        sealed_fields: Sequence[str],
        n_clear: int,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.suite = suite
        self.key_len = suite.key_len
        self._enames = [enc(n) for n in sealed_fields]
        self._nc = n_clear
        self._fk_label = L_FK + package_id
        self._value_label = L_VALUE + package_id
        self._max_rid = limits.max_record_id_chars

    def line_head(
        self, record_id: str, record_key: bytes, clear: Sequence[str], sealed: Sequence[str]
    ) -> bytes:
        """``[record_id,[clear…],["sealed…"],"`` — raises ValueError (TypeError …) when the
        record cannot be sealed (a bad id, the wrong number of values, invalid Unicode)."""
        rid = record_id
        if (
            type(rid) is not str
            or not 0 < len(rid) <= self._max_rid
            or _CTRL.search(rid)
            or len(clear) != self._nc
            or len(sealed) != len(self._enames)
        ):
            raise ValueError
        digest = self.suite.digest
        new_aead = self.suite.aead
        kl = self.key_len
        b2a = _b2a
        erid = rid.encode()
        erid = len(erid).to_bytes(2, "big") + erid
        kdf_pre = _CTR1 + record_key + self._fk_label + erid
        aad_pre = self._value_label + erid
        parts = []
        for en, v in zip(self._enames, sealed, strict=True):
            fk = digest(kdf_pre + en)[:kl]
            parts.append(
                b2a(
                    digest(L_FC + fk) + new_aead(fk).seal(_ZERO_NONCE, v.encode(), aad_pre + en),
                    newline=False,
                )
            )
        # json.encoder (ensure_ascii=False) escapes exactly '"', '\\' and C0 controls: when the
        # joined values hold none of them, '","'.join is already their JSON (one scan, not n).
        if self._nc:
            joined = '","'.join(clear)
            clear_json = (
                b'"' + joined.encode() + b'"'
                if not _JSON_ESC.search(joined)
                else ",".join([encode_basestring(c) for c in clear]).encode()
            )
        else:
            clear_json = b""
        return b"".join(
            (
                b"[",
                encode_basestring(rid).encode("utf-8"),
                b",[",
                clear_json,
                b'],["',
                b'","'.join(parts),
                b'"],"',
            )
        )


class SubmissionWriter:
    """A submission package written in order: the header at construction, then record lines,
    then the trailer and the one signature (:meth:`finish`, §7).

    :func:`seal_package` is this writer fed one record at a time; the batch engine builds line
    heads in worker processes (:class:`RecordSealer`) and ends each line here
    (:meth:`line`), in package order. ``random`` is the CSPRNG (the suite's by default; tests
    pass a seeded one to compare outputs byte for byte). On an exception the output is
    incomplete: write through :func:`xinan.fileio.atomic_writer`.
    """

    def __init__(
        self,
        out: IO[bytes],
        *,
        suite: CryptoSuite,
        sender: SignerKey,
        recipients: Sequence[PublicKeys],
        meta: PackageMeta,
        now: datetime,
        limits: Limits = DEFAULT_LIMITS,
        random: Callable[[int], bytes] | None = None,
    ) -> None:
        _check_meta(meta, limits)
        _check_parties(suite, sender, recipients, limits)
        self.suite = suite
        self.random = random or suite.random
        self.out = out
        self.meta = meta
        self.limits = limits
        self.key_len = suite.key_len
        self.package_id = self.random(16)
        package_key = self.random(self.key_len)
        self._sender = sender
        self._wraps = len(recipients)
        self.header_line = _write_header(
            out,
            suite,
            pid=self.package_id,
            package_key=package_key,
            audience="submission",
            sender=sender,
            recipients=recipients,
            meta=meta,
            now=now,
            grant=None,
            release="none",
            limits=limits,
        )
        self._pk_seal = suite.aead(package_key).seal
        self._rk_label = L_RK + self.package_id
        self._hasher = suite.hasher()
        self.count = 0

    def sealer(self) -> RecordSealer:
        return RecordSealer(
            self.suite,
            self.package_id,
            self.meta.sealed_fields,
            len(self.meta.clear_fields),
            self.limits,
        )

    def line(self, head: bytes, index: int, record_id: str, record_key: bytes) -> bytes:
        """A whole record line: ``head`` (from :meth:`RecordSealer.line_head`) and the record
        key wrapped under the package key with nonce ``u32(0) ‖ u64(index)`` (§5.2)."""
        erid = record_id.encode()
        erid = len(erid).to_bytes(2, "big") + erid
        nonce = b"\x00\x00\x00\x00" + index.to_bytes(8, "big")
        wrapped = _b2a(
            nonce + self._pk_seal(nonce, record_key, self._rk_label + erid), newline=False
        )
        line = b"".join((head, wrapped, b'"]\n'))
        if len(line) > self.limits.max_line_bytes:
            raise InputError(
                f"record {index + 1}: sealed line longer than {self.limits.max_line_bytes} bytes",
                hint="shorten the values or raise the line limit on both sides",
            )
        return line

    def write_lines(self, data: bytes, count: int) -> None:
        """Append ``count`` whole record lines (their indexes must follow :attr:`count`)."""
        if self.count + count > self.limits.max_records:
            raise InputError(f"more than {self.limits.max_records} records (the package limit)")
        self._hasher.update(data)
        self.out.write(data)
        self.count += count

    def finish(self) -> SealSummary:
        return _finish(
            self.out,
            suite=self.suite,
            sender=self._sender,
            header_line=self.header_line,
            count=self.count,
            hasher=self._hasher,
            pid=self.package_id,
            audience="submission",
            wraps=self._wraps,
        )


def _unsealable(index: int, limits: Limits, nc: int, ns: int) -> InputError:
    return InputError(
        f"record {index + 1}: cannot be sealed (record id must be 1..{limits.max_record_id_chars} "
        f"characters without control characters; {nc} clear and {ns} sealed string "
        "values, valid Unicode)",
    )


def seal_package(
    out: IO[bytes],
    records: Iterable[SealRecord],
    *,
    suite: CryptoSuite,
    sender: SignerKey,
    recipients: Sequence[PublicKeys],
    meta: PackageMeta,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> SealSummary:
    """Write a submission package (§2–§5, §7) of ``records`` to ``out``.

    One wrap per recipient and one signature per package; per record only symmetric work.
    Raises InputError for a record that cannot be sealed (naming it, never its values) and
    UsageError for bad parameters (mixed suites, too many recipients). On an exception the
    output is incomplete: write through :func:`xinan.fileio.atomic_writer`.
    """
    writer = SubmissionWriter(
        out, suite=suite, sender=sender, recipients=recipients, meta=meta, now=now, limits=limits
    )
    sealer = writer.sealer()
    kl = suite.key_len
    nc, ns = len(meta.clear_fields), len(meta.sealed_fields)
    pool = b""
    pool_at = pool_len = 0
    batch: list[bytes] = []
    for count, rec in enumerate(records):
        if count >= limits.max_records:
            raise InputError(f"more than {limits.max_records} records (the package limit)")
        if pool_at == pool_len:
            pool = suite.random(kl * _RNG_BATCH)
            pool_at = 0
            pool_len = len(pool)
        rk = pool[pool_at : pool_at + kl]
        pool_at += kl
        try:
            rid, clear, sealed = rec
            head = sealer.line_head(rid, rk, clear, sealed)
        except (ValueError, TypeError, AttributeError, UnicodeEncodeError):
            raise _unsealable(count, limits, nc, ns) from None
        batch.append(writer.line(head, count, rid, rk))
        if len(batch) == _B64_CHUNK:
            writer.write_lines(b"".join(batch), len(batch))
            batch.clear()
    if batch:
        writer.write_lines(b"".join(batch), len(batch))
    return writer.finish()


# -- §6 share -------------------------------------------------------------------------------
def build_share_package(
    out: IO[bytes],
    records: Iterable[ShareRecord],
    *,
    suite: CryptoSuite,
    sender: SignerKey,
    querent: PublicKeys,
    meta: PackageMeta,
    grant: str,
    now: datetime,
    release: str = "none",
    limits: Limits = DEFAULT_LIMITS,
) -> SealSummary:
    """Write a share package (§6) for one querent: the original ``C ‖ E`` blobs verbatim and
    only the given field keys, each checked against its commitment before it is wrapped.

    ``meta.sealed_fields`` are the granted field names (the names the values were sealed
    under). With ``release="per-record"`` every record needs a 32-byte ``release_secret``
    (kept by the platform, handed over at open time, destroyed with the record; §6.3).
    """
    _check_meta(meta, limits)
    _check_parties(suite, sender, [querent], limits)
    if release not in RELEASE_MODES:
        raise UsageError(f"release must be one of {RELEASE_MODES}")
    _check_text(grant, limits.max_name_chars, "grant id")
    kl = suite.key_len
    dl = suite.digest_len
    pid = suite.random(16)
    share_key = suite.random(kl)
    header_line = _write_header(
        out,
        suite,
        pid=pid,
        package_key=share_key,
        audience="share",
        sender=sender,
        recipients=[querent],
        meta=meta,
        now=now,
        grant=grant,
        release=release,
        limits=limits,
    )
    hasher = suite.hasher()
    nc = len(meta.clear_fields)
    ns = len(meta.sealed_fields)
    share_aead = suite.aead(share_key)
    count = 0
    for rec in records:
        where = f"share record {count + 1}"
        if count >= limits.max_records:
            raise InputError(f"more than {limits.max_records} records (the package limit)")
        rid = rec.record_id
        try:
            _check_text(rid, limits.max_record_id_chars, f"{where}: record id")
        except VerificationError as e:
            raise InputError(e.message) from None
        if not _HEX32.match(rec.source_package_id):
            raise InputError(f"{where}: source package id must be 32 lowercase hex digits")
        if len(rec.clear) != nc or len(rec.blobs) != ns or len(rec.field_keys) != ns:
            raise InputError(f"{where}: needs {nc} clear values and {ns} sealed entries")
        src = bytes.fromhex(rec.source_package_id)
        if release == "per-record":
            if rec.release_secret is None or len(rec.release_secret) != RELEASE_SECRET_LEN:
                raise InputError(f"{where}: a {RELEASE_SECRET_LEN}-byte release secret needed")
            wrap_aead = suite.aead(_release_key(suite, share_key, pid, rid, rec.release_secret))
        else:
            wrap_aead = share_aead
        entries: list[str] = []
        for i, (name, blob, fk) in enumerate(
            zip(meta.sealed_fields, rec.blobs, rec.field_keys, strict=True)
        ):
            if blob is None and fk is None:
                entries.append("null")
                continue
            if blob is None or fk is None or len(fk) != kl or len(blob) < dl + TAG_LEN:
                raise InputError(f"{where}: sealed field {name!r} needs its blob and its key")
            if commit_key(suite, L_FC, fk) != blob[:dl]:
                # §6.1: never wrap a key that does not open this very ciphertext.
                raise IntegrityError(f"{where}: key for field {name!r} does not match")
            nonce = (1 + i).to_bytes(4, "big") + count.to_bytes(8, "big")
            wfk = nonce + wrap_aead.seal(nonce, fk, _fkw_aad(pid, src, rid, name))
            entries.append(f'["{_b64(blob)}","{_b64(wfk)}"]')
        line = (
            f'[{encode_basestring(rid)},"{rec.source_package_id}",'
            f"[{','.join(encode_basestring(c) for c in rec.clear)}],[{','.join(entries)}]]\n"
        ).encode()
        if len(line) > limits.max_line_bytes:
            raise InputError(f"{where}: line longer than {limits.max_line_bytes} bytes")
        hasher.update(line)
        out.write(line)
        count += 1
    return _finish(
        out,
        suite=suite,
        sender=sender,
        header_line=header_line,
        count=count,
        hasher=hasher,
        pid=pid,
        audience="share",
        wraps=1,
    )


# -- §8 reading -----------------------------------------------------------------------------


def _loads_record(line: bytes) -> Any:
    """A record line's JSON (shape and canonical form are checked by the caller)."""
    return json.loads(line.decode("utf-8"), parse_constant=_no_constant)  # strict UTF-8


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_line(stream: IO[bytes], limit: int, what: str) -> bytes:
    line = stream.readline(limit + 1)
    if len(line) > limit:
        raise VerificationError(
            f"package {what}: longer than the limit of {limit} bytes",
            hint="a hostile or damaged package; raise the limit only if the sender is trusted",
        )
    return line


def _parse_header(line: bytes, limits: Limits) -> tuple[PackageInfo, dict[str, Any]]:
    if not line.startswith(_MAGIC):
        raise VerificationError(
            f"not a {FORMAT} package (the first line must start with {_MAGIC.decode()})",
            hint="check the file; a later format version needs a newer xinan",
        )
    if not line.endswith(b"\n"):
        raise VerificationError("package header: truncated (no end of line)")
    try:
        # §2: strict JSON in the one encoding the writer produces (so one package id has one
        # header byte string): other escapes, spacing or number forms are refused.
        h = loads_canonical(line[:-1], compact_json)
    except MalformedJSON as e:
        raise VerificationError(f"package header: {e.message}") from None
    if not isinstance(h, dict) or tuple(h) != _HEADER_KEYS:
        raise VerificationError(
            f"package header: members must be exactly {', '.join(_HEADER_KEYS)} in that order"
        )
    what = "package header"
    pid = h["id"]
    if type(pid) is not str or not _HEX32.match(pid):
        raise VerificationError(f"{what}: id must be 32 lowercase hex digits")
    if h["suite"] not in [s.value for s in SuiteName]:
        raise VerificationError(f"{what}: unknown suite {str(h['suite'])[:20]!r}")
    audience = h["audience"]
    if audience not in AUDIENCES:
        raise VerificationError(f"{what}: audience must be one of {AUDIENCES}")
    if type(h["created"]) is not str or not _CREATED.match(h["created"]):
        raise VerificationError(f"{what}: created must be an RFC 3339 UTC time")
    sender = _check_text(h["sender"], limits.max_key_id_chars, f"{what}: sender")
    pol = h["policy"]
    if not isinstance(pol, dict) or tuple(pol) != ("id", "version"):
        raise VerificationError(f"{what}: policy must be {{id, version}}")
    _check_text(pol["id"], limits.max_name_chars, f"{what}: policy id")
    _check_text(pol["version"], limits.max_name_chars, f"{what}: policy version")
    _check_text(h["kind"], limits.max_name_chars, f"{what}: kind")
    grant, release = h["grant"], h["release"]
    if audience == "submission":
        if grant is not None or release != "none":
            raise VerificationError(f"{what}: a submission has grant null and release none")
    else:
        _check_text(grant, limits.max_name_chars, f"{what}: grant")
        if release not in RELEASE_MODES:
            raise VerificationError(f"{what}: release must be one of {RELEASE_MODES}")
    names: dict[str, tuple[str, ...]] = {}
    for key in ("clear", "sealed"):
        lst = h[key]
        if type(lst) is not list or len(lst) > limits.max_fields:
            raise VerificationError(
                f"{what}: {key} must be a list of at most {limits.max_fields} names"
            )
        for n in lst:
            _check_text(n, limits.max_name_chars, f"{what}: {key} field name")
        if len(set(lst)) != len(lst):
            raise VerificationError(f"{what}: {key} field names repeat")
        names[key] = tuple(lst)
    if len(names["clear"]) + len(names["sealed"]) > limits.max_fields:
        raise VerificationError(f"{what}: more than {limits.max_fields} fields")
    kc = _unb64(h["key_commitment"], f"{what}: key_commitment")
    recips = h["recipients"]
    if type(recips) is not list or not 1 <= len(recips) <= limits.max_recipients:
        raise VerificationError(
            f"{what}: 1..{limits.max_recipients} recipients allowed",
            hint="a hostile header cannot make xinan try more unwraps than this",
        )
    rids: list[str] = []
    for r in recips:
        if not isinstance(r, dict) or tuple(r) != ("key_id", "wrapped"):
            raise VerificationError(f"{what}: recipient must be {{key_id, wrapped}}")
        rids.append(_check_text(r["key_id"], limits.max_key_id_chars, f"{what}: recipient"))
        w = r["wrapped"]
        if type(w) is not str or len(w) > (limits.max_wrapped_bytes * 4) // 3 + 4:
            raise VerificationError(f"{what}: wrapped key longer than the limit")
        _unb64(w, f"{what}: wrapped key")
    if len(set(rids)) != len(rids):
        raise VerificationError(f"{what}: a recipient is listed twice")
    return PackageInfo(
        package_id=pid,
        suite=SuiteName(h["suite"]),
        audience=audience,
        created=h["created"],
        sender=sender,
        policy_id=pol["id"],
        policy_version=pol["version"],
        kind=h["kind"],
        grant=grant,
        release=release,
        clear_fields=names["clear"],
        sealed_fields=names["sealed"],
        recipients=tuple(rids),
        key_commitment=kc,
    ), h


class _Context:
    """What the reader learned from the header (and, when opening, the package key)."""

    def __init__(
        self,
        info: PackageInfo,
        suite: CryptoSuite,
        header_line: bytes,
        wrapped: dict[str, bytes],
        limits: Limits,
    ) -> None:
        self.info = info
        self.suite = suite
        self.header_line = header_line
        self.wrapped = wrapped
        self.limits = limits
        self.pid = bytes.fromhex(info.package_id)
        self.package_key: bytes | None = None
        self.package_aead: Aead | None = None  # built once, reused for every record
        self.release: ReleaseLookup | None = None
        self.enames = [enc(n) for n in info.sealed_fields]


def _read_header(
    stream: IO[bytes],
    trust: TrustLookup,
    limits: Limits,
    compliance_mode: str | None,
) -> tuple[_Context, PublicKeys]:
    line = _read_line(stream, limits.max_header_bytes, "header")
    if not line:
        raise VerificationError("package is empty")
    info, raw = _parse_header(line, limits)
    suite = get_suite(info.suite, compliance_mode=compliance_mode)
    try:
        sender = trust(info.sender)
    except KeyringError:
        sender = None
    # The header names the sender by key id; a lookup that resolved it any other way (e.g.
    # as a key *name*) does not count.
    if sender is None or sender.key_id != info.sender:
        raise VerificationError(
            f"package sender {info.sender!r} is unknown",
            hint="add the sender's public key to the trust store (`xinan keys add FILE`) "
            "if you trust it",
        )
    if sender.suite is not info.suite:
        raise VerificationError(
            f"package sender {info.sender!r} has a {sender.suite.value} key; "
            f"the package says {info.suite.value}"
        )
    if len(info.key_commitment) != suite.digest_len:
        raise VerificationError("package header: key_commitment has the wrong length")
    wrapped = {r["key_id"]: _a2b(r["wrapped"]) for r in raw["recipients"]}
    return _Context(info, suite, line, wrapped, limits), sender


def _unwrap_package_key(ctx: _Context, identity: KemKey) -> None:
    """§8 step 3."""
    info = ctx.info
    priv = identity.kem
    if priv.suite is not info.suite:
        raise VerificationError(
            f"key {identity.key_id!r} is a {priv.suite.value} key; "
            f"the package is {info.suite.value}",
            hint="open with a key of the package's suite",
        )
    w = ctx.wrapped.get(identity.key_id)
    if w is None:
        raise VerificationError(
            f"package is not addressed to key {identity.key_id!r} "
            f"(recipients: {', '.join(info.recipients)})",
            hint="open it with one of the recipients' keys",
        )
    aad = _pk_aad(
        ctx.pid, info.key_commitment, info.suite.value, info.audience, info.sender, identity.key_id
    )
    try:
        pk = ctx.suite.unwrap(priv, w, INFO_PK, aad)
    except IntegrityError:
        raise IntegrityError(
            f"package key for {identity.key_id!r} did not unwrap",
            hint="the package was altered, or the key is not the one it was sealed to",
        ) from None
    if len(pk) != ctx.suite.key_len or commit_key(ctx.suite, L_PC, pk) != info.key_commitment:
        raise IntegrityError("package key does not match the header's key commitment")
    ctx.package_key = pk
    ctx.package_aead = ctx.suite.aead(pk)


class _Parsed(NamedTuple):
    record_id: str
    source: str
    clear: tuple[str, ...]
    blobs: tuple[bytes | None, ...]
    wraps: tuple[bytes | None, ...]  # submission: (wrapped record key,); share: wrapped fks


class _Bad(Exception):
    """A record-level problem; the caller adds where it is (built only on failure)."""


def _blob(s: object) -> bytes:
    """Strict canonical base64 (§1) for the record hot path; raises _Bad."""
    if type(s) is not str:
        raise _Bad("not a base64 string")
    try:
        raw = _a2b(s, strict_mode=True)
    except (binascii.Error, ValueError):
        raise _Bad("not valid base64") from None
    if _b2a(raw, newline=False) != s.encode("ascii"):
        raise _Bad("base64 not in canonical form")
    return raw


def _parse_record(ctx: _Context, line: bytes, index: int) -> _Parsed:
    """§4, §8 step 4: shape and encodings of one record line (no keys needed)."""
    rid: object = None
    try:
        return _parse_record_inner(ctx, line)
    except _Bad as e:
        rid = e.args[1] if len(e.args) > 1 else None
        where = f"package record {index + 1}" + (f" (id {rid!r})" if rid is not None else "")
        raise VerificationError(f"{where}: {e.args[0]}") from None


def _parse_record_inner(ctx: _Context, line: bytes) -> _Parsed:
    if not line.endswith(b"\n"):
        raise _Bad("truncated (no end of line)")
    try:
        obj = _loads_record(line[:-1])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Bad("not valid JSON") from None
    info = ctx.info
    share = info.audience == "share"
    if type(obj) is not list or len(obj) != 4:
        raise _Bad("must be an array of 4 items")
    rid = obj[0]
    lim = ctx.limits.max_record_id_chars
    if type(rid) is not str or not 0 < len(rid) <= lim or _CTRL.search(rid):
        raise _Bad(f"record id: must be 1..{lim} characters without control characters")
    try:
        if share:
            src, clear, sealed = obj[1], obj[2], obj[3]
            if type(src) is not str or not _HEX32.match(src):
                raise _Bad("source package id must be 32 lowercase hex digits")
        else:
            src, clear, sealed = info.package_id, obj[1], obj[2]
        nc, ns = len(info.clear_fields), len(info.sealed_fields)
        if type(clear) is not list or len(clear) != nc or any(type(c) is not str for c in clear):
            raise _Bad(f"needs {nc} clear string values")
        if type(sealed) is not list or len(sealed) != ns:
            raise _Bad(f"needs {ns} sealed entries")
        minblob = ctx.suite.digest_len + TAG_LEN
        wlen = NONCE_LEN + ctx.suite.key_len + TAG_LEN
        blobs: list[bytes | None] = []
        wraps: list[bytes | None] = []
        for name, e in zip(info.sealed_fields, sealed, strict=True):
            try:
                if share:
                    if e is None:
                        blobs.append(None)
                        wraps.append(None)
                        continue
                    if type(e) is not list or len(e) != 2:
                        raise _Bad("must be null or [value, wrapped key]")
                    blob, wfk = _blob(e[0]), _blob(e[1])
                    if len(wfk) != wlen:
                        raise _Bad("wrapped key has the wrong length")
                    wraps.append(wfk)
                else:
                    blob = _blob(e)
                if len(blob) < minblob:
                    raise _Bad("too short")
            except _Bad as b:
                raise _Bad(f"sealed field {name!r}: {b.args[0]}") from None
            blobs.append(blob)
        if not share:
            try:
                wk = _blob(obj[3])
            except _Bad as b:
                raise _Bad(f"wrapped record key: {b.args[0]}") from None
            if len(wk) != wlen:
                raise _Bad("wrapped record key has the wrong length")
            wraps = [wk]
        # §2: one encoding per record (the shape above left strings, arrays and null only).
        if not is_compact_json(obj, line[:-1]):
            raise _Bad("not in canonical form (escapes, spacing or a lone surrogate)")
    except _Bad as b:
        raise _Bad(b.args[0], rid) from None
    return _Parsed(rid, src, tuple(clear), tuple(blobs), tuple(wraps))


def _parse_verified(ctx: _Context, line: bytes) -> _Parsed:
    """Second pass of an open: bytes proven identical to a line _parse_record accepted."""
    obj = json.loads(line)
    a2b = _a2b
    if ctx.info.audience == "share":
        rid, src, clear, sealed = obj
        return _Parsed(
            rid,
            src,
            tuple(clear),
            tuple(None if e is None else a2b(e[0]) for e in sealed),
            tuple(None if e is None else a2b(e[1]) for e in sealed),
        )
    rid, clear, sealed, wk = obj
    return _Parsed(
        rid, ctx.info.package_id, tuple(clear), tuple([a2b(e) for e in sealed]), (a2b(wk),)
    )


def _record_keys(ctx: _Context, p: _Parsed, index: int, *, check: bool = True) -> KeyedRecord:
    """Unwrap a record's keys (§5.2, §6.1) and check every commitment (§5.4).

    ``check=False`` only in the second pass of an open, over bytes proven identical to the
    first pass (whose checks passed); the unwraps are AEAD opens and still verify."""
    suite = ctx.suite
    pk, pk_aead = ctx.package_key, ctx.package_aead
    if pk is None or pk_aead is None:  # pragma: no cover - internal misuse
        raise UsageError("package key not unwrapped")
    where = f"package record {index + 1} (id {p.record_id!r})"
    erid = enc(p.record_id)
    dl = suite.digest_len
    kl = suite.key_len
    digest = suite.digest
    if ctx.info.audience == "submission":
        wk = p.wraps[0]
        if wk is None:  # pragma: no cover - _parse_record always sets it
            raise IntegrityError(f"{where}: record key missing")
        try:
            rk = pk_aead.open(wk[:NONCE_LEN], wk[NONCE_LEN:], L_RK + ctx.pid + erid)
        except IntegrityError:
            raise IntegrityError(f"{where}: record key did not open") from None
        pre = _CTR1 + rk + L_FK + ctx.pid + erid
        fks: list[bytes | None] = [digest(pre + en)[:kl] for en in ctx.enames]
        record_key: bytes | None = rk
    else:
        if ctx.info.release == "per-record":
            if ctx.release is None:
                raise UsageError(
                    "this share needs release secrets from the platform (release per-record)"
                )
            secret = ctx.release(ctx.info.package_id, p.record_id)
            if secret is None:
                # §6.3 withheld: no field key of this record is unwrapped, no value opens.
                none = (None,) * len(ctx.info.sealed_fields)
                return KeyedRecord(index, p.record_id, p.source, p.clear, p.blobs, none, None)
            wrap_aead = suite.aead(_release_key(suite, pk, ctx.pid, p.record_id, secret))
        else:
            wrap_aead = pk_aead
        src = bytes.fromhex(p.source)
        fks = []
        for name, w in zip(ctx.info.sealed_fields, p.wraps, strict=True):
            if w is None:
                fks.append(None)
                continue
            try:
                fks.append(
                    wrap_aead.open(
                        w[:NONCE_LEN], w[NONCE_LEN:], _fkw_aad(ctx.pid, src, p.record_id, name)
                    )
                )
            except IntegrityError:
                raise IntegrityError(f"{where}: key of field {name!r} did not open") from None
        record_key = None
    if check:
        for name, fk, blob in zip(ctx.info.sealed_fields, fks, p.blobs, strict=True):
            if fk is not None and blob is not None and digest(L_FC + fk) != blob[:dl]:
                raise IntegrityError(f"{where}: field {name!r} key commitment does not match")
    return KeyedRecord(index, p.record_id, p.source, p.clear, p.blobs, tuple(fks), record_key)


def _decrypt(ctx: _Context, kr: KeyedRecord) -> OpenedRecord:
    suite = ctx.suite
    dl = suite.digest_len
    src = bytes.fromhex(kr.source_package_id)
    erid = enc(kr.record_id)
    out: list[str | None] = []
    aad_pre = L_VALUE + src + erid
    new_aead = suite.aead
    for name, en, blob, fk in zip(
        ctx.info.sealed_fields, ctx.enames, kr.blobs, kr.field_keys, strict=True
    ):
        if blob is None or fk is None:
            out.append(None)
            continue
        try:
            pt = new_aead(fk).open(_ZERO_NONCE, blob[dl:], aad_pre + en)
            out.append(pt.decode("utf-8"))
        except (IntegrityError, UnicodeDecodeError):
            raise IntegrityError(
                f"package record {kr.position + 1} (id {kr.record_id!r}): "
                f"sealed field {name!r} did not open"
            ) from None
    return OpenedRecord(kr.position, kr.record_id, kr.source_package_id, kr.clear, tuple(out))


def _parse_trailer(line: bytes) -> tuple[int, bytes, bytes]:
    if not line.endswith(b"\n"):
        raise VerificationError("package trailer: truncated (no end of line)")
    try:
        t = loads_canonical(line[:-1], compact_json)
    except MalformedJSON as e:
        raise VerificationError(f"package trailer: {e.message}") from None
    if (
        not isinstance(t, dict)
        or tuple(t) != ("trailer", "count", "records_digest", "signature")
        or type(t["count"]) is not int
        or t["count"] < 0
    ):
        raise VerificationError("package trailer: malformed")
    digest = _unb64(t["records_digest"], "package trailer: records_digest")
    sig = _unb64(t["signature"], "package trailer: signature")
    if _trailer_line(t["count"], digest, sig) != line:
        raise VerificationError("package trailer: not in canonical form")
    return t["count"], digest, sig


_RecordHook = Callable[[_Context, bytes, int], None]


def _scan(
    stream: IO[bytes],
    ctx: _Context,
    sender: PublicKeys,
    on_record: _RecordHook,
) -> PackageInfo:
    """§8 steps 4–6 over the records and trailer; ``on_record`` sees each line first."""
    limits = ctx.limits
    hasher = ctx.suite.hasher()
    count = 0
    batch: list[bytes] = []
    while True:
        line = _read_line(stream, limits.max_line_bytes, f"record {count + 1}")
        if not line:
            raise VerificationError(
                f"package truncated: no trailer after {count} records",
                hint="the file was cut short; ask the sender for it again",
            )
        if line.startswith(_TRAILER_MAGIC):
            break
        if count >= limits.max_records:
            raise VerificationError(f"package has more than {limits.max_records} records")
        on_record(ctx, line, count)
        batch.append(line)
        if len(batch) == _B64_CHUNK:
            hasher.update(b"".join(batch))
            batch.clear()
        count += 1
    if batch:
        hasher.update(b"".join(batch))
    n, digest, sig = _parse_trailer(line)
    if stream.read(1):
        raise VerificationError("package: data after the trailer")
    if n != count:
        raise VerificationError(f"package count mismatch: trailer says {n}, read {count}")
    computed = hasher.finalize()
    if computed != digest:
        raise VerificationError("package records digest mismatch: records were altered")
    try:
        ctx.suite.verify(sender.sig, _signed_message(ctx.suite, ctx.header_line, n, digest), sig)
    except IntegrityError:
        raise IntegrityError(
            f"package signature by {ctx.info.sender!r} does not verify",
            hint="the package was altered after signing, or signed by another key",
        ) from None
    return _with_counts(ctx.info, n, digest)


def _with_counts(info: PackageInfo, count: int, digest: bytes) -> PackageInfo:
    return replace(info, count=count, records_digest=digest)


def verify_package(
    stream: IO[bytes],
    *,
    trust: TrustLookup,
    limits: Limits = DEFAULT_LIMITS,
    compliance_mode: str | None = None,
) -> PackageInfo:
    """Check a whole package without any private key: header, every record's shape, count,
    records digest and the sender's signature (§8). Returns the facts; raises
    VerificationError (naming header, record N, trailer, count, sender) or IntegrityError
    (signature). Never returns a bool."""
    ctx, sender = _read_header(stream, trust, limits, compliance_mode)

    def shape(c: _Context, line: bytes, i: int) -> None:
        _parse_record(c, line, i)

    return _scan(stream, ctx, sender, shape)


def _seekable_copy(stream: IO[bytes], spool_dir: str | None) -> tuple[IO[bytes], bool]:
    """The input itself when it can be read twice, else a private temporary copy."""
    try:
        if stream.seekable():
            stream.seek(0)
            return stream, False
    except (OSError, ValueError):
        pass
    tmp = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed by the caller
    while chunk := stream.read(1 << 20):
        tmp.write(chunk)
    tmp.seek(0)
    return tmp, True


def _two_pass(
    stream: IO[bytes],
    *,
    identity: KemKey,
    trust: TrustLookup,
    limits: Limits,
    compliance_mode: str | None,
    release: ReleaseLookup | None,
    spool_dir: str | None,
    decrypt: bool,
) -> tuple[PackageInfo, _Context, Iterator[KeyedRecord]]:
    """Pass 1 verifies everything and opens every value (releasing nothing); the returned
    iterator is pass 2, which re-reads chunk by chunk and checks each chunk's digest against
    pass 1 before yielding anything from it (§8)."""
    src, is_copy = _seekable_copy(stream, spool_dir)
    start = src.tell()
    ctx, sender = _read_header(src, trust, limits, compliance_mode)
    ctx.release = release
    _unwrap_package_key(ctx, identity)
    chunks: list[tuple[int, bytes]] = []  # (lines, digest) per chunk
    cur: list[bytes] = []
    cur_bytes = 0

    def check(c: _Context, line: bytes, i: int) -> None:
        nonlocal cur_bytes
        kr = _record_keys(c, _parse_record(c, line, i), i)
        if decrypt:
            _decrypt(c, kr)
        cur.append(line)
        cur_bytes += len(line)
        if cur_bytes >= _VERIFY_CHUNK_BYTES:
            chunks.append((len(cur), c.suite.digest(b"".join(cur))))
            cur.clear()
            cur_bytes = 0

    info = _scan(src, ctx, sender, check)
    if cur:
        chunks.append((len(cur), ctx.suite.digest(b"".join(cur))))

    def second_pass() -> Iterator[KeyedRecord]:
        try:
            src.seek(start)
            if src.readline(limits.max_header_bytes + 1) != ctx.header_line:
                raise IntegrityError("package changed while it was being opened (header)")
            index = 0
            for n_lines, want in chunks:
                lines = [src.readline(limits.max_line_bytes + 1) for _ in range(n_lines)]
                if ctx.suite.digest(b"".join(lines)) != want:
                    raise IntegrityError(
                        f"package changed while it was being opened (near record {index + 1})"
                    )
                for line in lines:
                    yield _record_keys(ctx, _parse_verified(ctx, line), index, check=False)
                    index += 1
        finally:
            if is_copy:
                src.close()

    return info, ctx, second_pass()


def open_package_keys(
    stream: IO[bytes],
    sink: Callable[[KeyedRecord], None],
    *,
    identity: KemKey,
    trust: TrustLookup,
    limits: Limits = DEFAULT_LIMITS,
    compliance_mode: str | None = None,
    release: ReleaseLookup | None = None,
    spool_dir: str | None = None,
) -> PackageInfo:
    """Verify the whole package and check that every sealed value opens, then hand each
    record's keys and raw blobs (no plaintext) to ``sink``: what the vault ingests (§10)."""
    info, _ctx, records = _two_pass(
        stream,
        identity=identity,
        trust=trust,
        limits=limits,
        compliance_mode=compliance_mode,
        release=release,
        spool_dir=spool_dir,
        decrypt=True,
    )
    for kr in records:
        sink(kr)
    return info


def open_package(
    stream: IO[bytes],
    sink: Callable[[OpenedRecord], None],
    *,
    identity: KemKey,
    trust: TrustLookup,
    limits: Limits = DEFAULT_LIMITS,
    compliance_mode: str | None = None,
    release: ReleaseLookup | None = None,
    spool_dir: str | None = None,
) -> PackageInfo:
    """Verify the whole package first (signature, count, digest, this key's unwrap, every
    record key and every sealed value), and only then decrypt and hand records to ``sink``
    in order. No ``sink`` call happens when anything fails in the first pass; in the second
    pass the bytes are re-checked against the first (a file changed in between raises
    IntegrityError before any record of a changed chunk reaches ``sink``).

    ``release`` supplies release secrets for a share with ``release`` "per-record" (§6.3); a
    record it answers None for is *withheld*: it reaches ``sink`` with every sealed value None
    and the caller MUST NOT release it (its clear fields included).
    Input that cannot be re-read (a pipe) is copied to a private temporary file first.
    """
    info, ctx, records = _two_pass(
        stream,
        identity=identity,
        trust=trust,
        limits=limits,
        compliance_mode=compliance_mode,
        release=release,
        spool_dir=spool_dir,
        decrypt=True,
    )
    for kr in records:
        sink(_decrypt(ctx, kr))
    return info
