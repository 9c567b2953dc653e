"""Reading ``xinan-package/1`` as a whole: verify, and open after the whole package verified
(docs/package.md §8). One reader, in blocks on every core (:mod:`.stream`); ``workers=1`` runs
it in this process, and the result never depends on the number of workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import IO, Any, TypedDict, TypeVar, Unpack

import pyarrow as pa

from xinan import progress
from xinan.errors import IntegrityError, VerificationError
from xinan.formats.package.header import _Context, _read_header, _unwrap_package_key
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
from xinan.formats.package.records import _parse_trailer
from xinan.formats.package.schedule import _signed_message
from xinan.formats.package.stream import (
    KEYS,
    OPEN,
    VERIFY,
    Scan,
    batch_records,
    map_spooled,
    scan_blocks,
    spooled_batches,
)

R = TypeVar("R")


def _check_end(ctx: _Context, sender: PublicKeys, scan: Scan) -> PackageInfo:
    """§8 steps 5–6: trailer, count, records digest, signature."""
    if scan.trailer is None:  # pragma: no cover - scan_blocks raises first
        raise VerificationError("package truncated: no trailer")
    n, digest, sig = _parse_trailer(scan.trailer)
    if scan.extra:
        raise VerificationError("package: data after the trailer")
    if n != scan.count:
        raise VerificationError(f"package count mismatch: trailer says {n}, read {scan.count}")
    if scan.digest != digest:
        raise VerificationError("package records digest mismatch: records were altered")
    try:
        ctx.suite.verify(sender.sig, _signed_message(ctx.suite, ctx.header_line, n, digest), sig)
    except IntegrityError:
        raise IntegrityError(
            f"package signature by {ctx.info.sender!r} does not verify",
            hint="the package was altered after signing, or signed by another key",
        ) from None
    return replace(ctx.info, count=n, records_digest=digest)


def verify_package(
    stream: IO[bytes],
    *,
    trust: TrustLookup,
    limits: Limits = DEFAULT_LIMITS,
    compliance_mode: str | None = None,
    workers: int = 1,
) -> PackageInfo:
    """Check a whole package without any private key: header, every record's shape, count,
    records digest and the sender's signature (§8), with ``workers`` processes. Returns the
    facts; raises VerificationError (naming header, record N, trailer, count, sender) or
    IntegrityError (signature). Never returns a bool."""
    ctx, sender = _read_header(stream, trust, limits, compliance_mode)
    scan = scan_blocks(stream, ctx, mode=VERIFY, workers=workers, spool_dir=None)
    return _check_end(ctx, sender, scan)


@dataclass
class OpenedPackage:
    """A package that passed every check of §8 (and whose every value opened), ready to be
    released block by block, in package order. Use once; ``close`` drops the spool."""

    info: PackageInfo
    _ctx: _Context
    _scan: Scan
    _mode: str

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Arrow batches: ``position``, ``record_id``, ``source``, then the clear values
        ``c0…`` and the opened values ``s0…`` (null: not in a share or withheld) — or, for
        keys, the blobs ``b0…``, field keys ``k0…`` and ``record_key``."""
        return spooled_batches(self._ctx, self._scan)

    def map_batches(self, fn: Callable[[pa.RecordBatch], R], *, workers: int) -> Iterator[R]:
        """``fn`` of each batch (as :meth:`batches` gives them), in order, computed in
        ``workers`` forked processes; ``fn`` and what it closes over reach the workers by
        fork, and only its results come back."""
        return map_spooled(self._ctx, self._scan, fn, workers=workers)

    def records(self) -> Iterator[Any]:
        """:class:`OpenedRecord` s (open) or :class:`KeyedRecord` s (keys), in order."""
        for batch in self.batches():
            yield from batch_records(self._ctx, batch, self._mode)

    def close(self) -> None:
        if self._scan.spool is not None:
            self._scan.spool.close()

    def __enter__(self) -> OpenedPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_blocks(
    stream: IO[bytes],
    *,
    identity: KemKey,
    trust: TrustLookup,
    limits: Limits = DEFAULT_LIMITS,
    compliance_mode: str | None = None,
    release: ReleaseLookup | None = None,
    spool_dir: str | None = None,
    workers: int = 1,
    keys: bool = False,
) -> OpenedPackage:
    """Read the whole package once with ``workers`` processes: verify it (§8 steps 1–6),
    unwrap every record key, check every commitment and open every sealed value; only then
    return it, to be released block by block (:meth:`OpenedPackage.batches`). With ``keys``
    the blocks carry keys and raw blobs instead of plaintext (the vault's ingest, §10)."""
    ctx, sender = _read_header(stream, trust, limits, compliance_mode)
    ctx.release = release
    _unwrap_package_key(ctx, identity)
    mode = KEYS if keys else OPEN
    scan = scan_blocks(stream, ctx, mode=mode, workers=workers, spool_dir=spool_dir)
    try:
        info = _check_end(ctx, sender, scan)
    except BaseException:
        if scan.spool is not None:
            scan.spool.close()
        raise
    return OpenedPackage(info, ctx, scan, mode)


class OpenOptions(TypedDict, total=False):
    """The options :func:`open_package` and :func:`open_package_keys` pass to
    :func:`open_blocks` (its parameters of the same names)."""

    limits: Limits
    compliance_mode: str | None
    release: ReleaseLookup | None
    spool_dir: str | None
    workers: int


def _drain(opened: OpenedPackage, sink: Callable[[Any], None], what: str) -> PackageInfo:
    """Hand every record of a package that passed every check to ``sink``, in order, counting
    them as ``what`` on the progress meter."""
    with opened:
        meter = progress.start(what, total=opened.info.count)
        for r in opened.records():
            sink(r)
            if meter is not None:
                meter.add()
        if meter is not None:
            meter.end()
        return opened.info


def open_package_keys(
    stream: IO[bytes],
    sink: Callable[[KeyedRecord], None],
    *,
    identity: KemKey,
    trust: TrustLookup,
    **options: Unpack[OpenOptions],
) -> PackageInfo:
    """Verify the whole package and check that every sealed value opens, then hand each
    record's keys and raw blobs (no plaintext) to ``sink``: what the vault ingests (§10).
    ``options`` as :func:`open_blocks`."""
    opened = open_blocks(stream, identity=identity, trust=trust, keys=True, **options)
    return _drain(opened, sink, "records stored")


def open_package(
    stream: IO[bytes],
    sink: Callable[[OpenedRecord], None],
    *,
    identity: KemKey,
    trust: TrustLookup,
    **options: Unpack[OpenOptions],
) -> PackageInfo:
    """Verify the whole package first (signature, count, digest, this key's unwrap, every
    record key and every sealed value), and only then hand records to ``sink`` in order. No
    ``sink`` call happens when anything fails; the package is read once, so a file changed
    after it was read cannot change what reaches ``sink``. ``options`` as :func:`open_blocks`.

    ``release`` supplies release secrets for a share with ``release`` "per-record" (§6.3); a
    record it answers None for is *withheld*: it reaches ``sink`` with every sealed value None
    and the caller MUST NOT release it (its clear fields included).
    """
    opened = open_blocks(stream, identity=identity, trust=trust, **options)
    return _drain(opened, sink, "records written")
