"""Reading ``xinan-package/1`` as a whole: verify, and open after the whole package verified
(docs/package.md §8)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import IO

from xinan.errors import (
    IntegrityError,
    VerificationError,
)
from xinan.formats.package.header import _Context, _read_header, _read_line, _unwrap_package_key
from xinan.formats.package.models import (
    DEFAULT_LIMITS,
    KemKey,
    KeyedRecord,
    Limits,
    OpenedRecord,
    PackageInfo,
    PublicKeys,
    ReleaseLookup,
    TrustLookup,
)
from xinan.formats.package.records import (
    _decrypt,
    _parse_record,
    _parse_trailer,
    _parse_verified,
    _record_keys,
)
from xinan.formats.package.schedule import (
    _B64_CHUNK,
    _TRAILER_MAGIC,
    _VERIFY_CHUNK_BYTES,
    _signed_message,
)

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
