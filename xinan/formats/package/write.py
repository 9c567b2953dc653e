"""Writing ``xinan-package/1``: submissions and shares (docs/package.md §3–§7).

Performance (§9): nothing asymmetric happens per record; the package-key AEAD object is
built once; field keys cost one hash each and commitments one hash each; record lines are
assembled as bytes from C-level JSON string escaping and binascii base64, and are hashed and
written in batches. ``bench/seal.py`` measures the ratio to bare AEAD calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import IO, Any

from xinan._codec import compact_json
from xinan.crypto.base import CryptoSuite, Hasher
from xinan.errors import (
    InputError,
    IntegrityError,
    UsageError,
    VerificationError,
)
from xinan.formats.package.models import (
    DEFAULT_LIMITS,
    Limits,
    PackageMeta,
    PublicKeys,
    SealRecord,
    SealSummary,
    ShareRecord,
    SignerKey,
)
from xinan.formats.package.schedule import (
    _B64_CHUNK,
    _CTR1,
    _CTRL,
    _HEX32,
    _JSON_ESC,
    _RNG_BATCH,
    _ZERO_NONCE,
    FORMAT,
    INFO_PK,
    L_FC,
    L_FK,
    L_PC,
    L_RK,
    L_VALUE,
    RELEASE_MODES,
    RELEASE_SECRET_LEN,
    TAG_LEN,
    _b2a,
    _b64,
    _check_text,
    _fkw_aad,
    _pk_aad,
    _release_key,
    _signed_message,
    _trailer_line,
    commit_key,
    enc,
)


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
        # values hold none of them, '","'.join is already their JSON (one scan, not n). The
        # scan is over the values alone: the separators' own quotes would always match.
        if self._nc:
            clear_json = (
                b'"' + '","'.join(clear).encode() + b'"'
                if not _JSON_ESC.search("".join(clear))
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
