"""Reading ``xinan-package/1`` in blocks, on every core (docs/package.md §8, docs/engine.md §7).

The reader cuts the records into blocks of whole lines (about 4 MiB) in file order, hashes each
block into the records digest as it goes, and hands the blocks to worker processes
(:func:`xinan.engine.workers.ordered_map`: forked, results in block order). A worker checks
every line of its block (:mod:`.lines`: one RE2 pass, the scalar parser for what the pattern
does not accept) and, when opening, unwraps each record key, checks every commitment and opens
every sealed value. Then the trailer, the count, the digest and the signature are checked
(§8 steps 5–6).

Nothing is released before all of that passed for the whole package (§8). While the package is
read once, each block's result (opened values, or keys and blobs for the vault) is sealed under
an ephemeral key that exists only in this process and its workers (fresh per open, never
written anywhere) and appended to a private temporary *spool* file; only after the signature
verified are the blocks read back from the spool, opened and handed out. Every value is thus
decrypted once, the package is read once (a file changed after it was read cannot change what
is released, and a pipe needs no copy), and memory stays flat: at most ``2 × workers`` blocks
are in flight.

The results do not depend on the number of workers (each block's result is a function of its
bytes and the package keys, and blocks are written to the spool in file order); the error
raised is the first one in file order, as a line-at-a-time reader would raise it.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import pyarrow as pa

from xinan import errors, progress
from xinan.crypto.base import Aead, Hasher
from xinan.engine.workers import ordered_map
from xinan.errors import IntegrityError, VerificationError, XinanError
from xinan.formats.package.header import _Context
from xinan.formats.package.lines import (
    count_lines,
    first_long_line,
    line_ends,
    record_pattern,
    surely_short_lines,
    unmatched,
)
from xinan.formats.package.models import KeyedRecord, OpenedRecord
from xinan.formats.package.records import _parse_record, block_rows
from xinan.formats.package.schedule import _TRAILER_MAGIC

BLOCK_BYTES = 1 << 22  # bytes read per block (a block holds whole lines only)
# Room kept for the partial line a read ends in, and the most a block exceeds BLOCK_BYTES by
# and still travels through shared memory (a longer one takes the pipe): record lines are
# about a kilobyte; the limit on one (max_line_bytes, 1 MiB by default) may be set far higher.
_CARRY = 1 << 20
# Arrow keeps no compiled pattern between calls: RE2 compiles the record pattern again for
# each block, about 0.7 ms for a 25-field record shape, as long as the scalar parser takes for
# some twenty lines. A block of fewer lines goes to the scalar parser whole (the authority the
# pattern only speeds up), so a package of a few records (a share, a test's) pays no compile.
VECTOR_MIN_LINES = 16
_SPOOL_AAD = b"xinan-package/1 spool\x00"  # the spool is private to one open; never a wire format

VERIFY, OPEN, KEYS = "verify", "open", "keys"
# what a pass of each mode is called in progress events (translated by the CLI)
_PASS = {VERIFY: "records verified", OPEN: "records opened", KEYS: "records checked"}
R = TypeVar("R")


@dataclass
class _Job:
    ctx: _Context
    mode: str
    pattern: str
    spool_key: bytes | None


_JOB: _Job | None = None  # set in the parent before the workers fork; cleared after


def _schema(ctx: _Context, mode: str) -> pa.Schema:
    nc, ns = len(ctx.info.clear_fields), len(ctx.info.sealed_fields)
    cols = [("position", pa.int64()), ("record_id", pa.string()), ("source", pa.string())]
    cols += [(f"c{i}", pa.string()) for i in range(nc)]
    if mode == OPEN:
        cols += [(f"s{i}", pa.string()) for i in range(ns)]
    else:
        cols += [(f"b{i}", pa.binary()) for i in range(ns)]
        cols += [(f"k{i}", pa.binary()) for i in range(ns)]
        cols.append(("record_key", pa.binary()))
    return pa.schema(cols)


def _work(arg: tuple[bytes, int]) -> tuple[Any, ...]:
    """One block in a worker: ``("ok", spool bytes)`` or ``("err", class, message, hint)``."""
    block, first = arg
    job = _JOB
    if job is None:  # pragma: no cover - internal misuse
        return ("err", "UsageError", "package reader: no job", None)
    try:
        return ("ok", _work_block(job, block, first))
    except XinanError as e:
        return ("err", type(e).__name__, e.message, e.hint)


def _work_block(job: _Job, block: bytes, first: int) -> bytes:
    ctx = job.ctx
    ends = line_ends(block)
    if len(ends) >= VECTOR_MIN_LINES:
        bad = set(unmatched(block, ends, job.pattern))
    else:
        bad = set(range(len(ends)))
    if job.mode == VERIFY:
        for i in sorted(bad):
            start = int(ends[i - 1]) if i else 0
            _parse_record(ctx, block[start : int(ends[i])], first + i)
        return b""
    rows = block_rows(ctx, block, ends.tolist(), bad, first, opening=job.mode == OPEN)
    schema = _schema(ctx, job.mode)
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    batch = pa.record_batch(
        [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
    )
    if job.spool_key is None:  # pragma: no cover - internal misuse
        raise errors.UsageError("package reader: no spool key")
    return _spool_aead(ctx, job.spool_key).seal(
        _nonce(first), batch.serialize().to_pybytes(), _SPOOL_AAD
    )


def _spool_aead(ctx: _Context, key: bytes) -> Aead:
    return ctx.suite.aead(key)


def _nonce(first: int) -> bytes:
    # one nonce per block (its first record index, unique), under a key fresh per open
    return first.to_bytes(12, "big")


def _rebuild(res: tuple[Any, ...]) -> XinanError:
    cls = getattr(errors, str(res[1]), None)
    if not (isinstance(cls, type) and issubclass(cls, XinanError)):  # pragma: no cover
        cls = XinanError
    return cls(res[2], hint=res[3])


class _Cutter:
    """Cuts the stream after the header into blocks of whole record lines, hashing them in
    order; stops at the trailer (kept in ``trailer``) or at the first structural error (kept
    in ``error``, raised by the caller after every block before it was checked)."""

    def __init__(self, stream: IO[bytes], ctx: _Context, hasher: Hasher) -> None:
        self.stream = stream
        self.ctx = ctx
        self.hasher = hasher
        self.count = 0
        self.trailer: bytes | None = None
        self.extra = False
        self.error: XinanError | None = None

    def _long(self, n: int) -> VerificationError:
        return VerificationError(
            f"package record {n}: longer than the limit of {self.ctx.limits.max_line_bytes} bytes",
            hint="a hostile or damaged package; raise the limit only if the sender is trusted",
        )

    def _records(
        self, buf: bytearray, length: int
    ) -> Generator[tuple[tuple[int, int], Any], None, bool]:
        """Yield the record lines of ``buf[:length]`` (whole lines) up to the first long line
        or the record limit; True when it stopped there (``error`` is set)."""
        limits = self.ctx.limits
        block = memoryview(buf)[:length]
        n = count_lines(block)
        room = limits.max_records - self.count
        long_at = None
        stop = n
        end = length
        if n > room or not surely_short_lines(buf, length, limits.max_line_bytes):
            ends = line_ends(block)  # an offset per line, only where a limit may be reached
            long_at = first_long_line(block, ends, limits.max_line_bytes)
            stop = min(n, room, n if long_at is None else long_at)
            end = int(ends[stop - 1]) if stop > 0 else 0
        if stop > 0:
            part = block[:end]
            self.hasher.update(part)
            yield (self.count, stop), (part, self.count)
            self.count += stop
        if stop < n:
            if long_at is not None and long_at == stop:
                self.error = self._long(self.count + 1)
            else:
                self.error = VerificationError(
                    f"package has more than {limits.max_records} records"
                )
            return True
        return False

    def items(self) -> Iterator[tuple[tuple[int, int], Any]]:
        """The blocks, each ``(first, count), (lines, first)``. ``lines`` is a view of this
        reader's buffer, valid until the next block is asked for: the consumer copies it
        (:func:`xinan.engine.workers.ordered_map` with ``shared_bytes`` does, into shared
        memory or ``bytes``). One buffer read into again and again, instead of new bytes for
        each read, each join and each slice, takes a third of the parent's time off."""
        limit = self.ctx.limits.max_line_bytes
        # a partial line carried over + one read, and no more than what is left of a file or
        # a BytesIO (+1 to see its end: a small package pays for no megabytes of zeros); grown
        # (a new buffer) only for a longer partial line, so a high max_line_bytes costs memory
        # only when a line needs it
        size = _CARRY + BLOCK_BYTES
        left = _bytes_left(self.stream)
        buf = bytearray(size if left is None else min(size, left + 1))
        view = memoryview(buf)
        have = 0  # bytes at the start of buf: the partial line carried over
        eof = False
        while self.error is None:
            if have == len(buf):  # full of one partial line (or a stream that grew)
                buf = bytearray(buf[:have]) + bytes(BLOCK_BYTES)
                view = memoryview(buf)
            room = min(BLOCK_BYTES, len(buf) - have)
            got = 0 if eof else _read_into(self.stream, view[have : have + room])
            eof = eof or not got
            end = have + got
            cut = buf.rfind(b"\n", 0, end) + 1
            at = _trailer_at(buf, cut)
            recs = cut if at < 0 else at
            if recs and (yield from self._records(buf, recs)):
                return
            if at >= 0:
                tail = bytes(view[at:cut])
                stop = tail.find(b"\n") + 1
                if stop > limit:
                    self.error = self._long(self.count + 1)
                    return
                self.trailer = tail[:stop]
                self.extra = (
                    bool(tail[stop:]) or end > cut or (not eof and bool(self.stream.read(1)))
                )
                return
            rest = bytes(view[cut:end])
            have = len(rest)
            buf[:have] = rest
            if have > limit:
                self.error = self._long(self.count + 1)
                return
            if eof:
                if not rest:
                    self.error = VerificationError(
                        f"package truncated: no trailer after {self.count} records",
                        hint="the file was cut short; ask the sender for it again",
                    )
                elif rest.startswith(_TRAILER_MAGIC):
                    self.trailer = rest  # no LF: the trailer parser names it
                elif self.count >= self.ctx.limits.max_records:
                    self.error = VerificationError(
                        f"package has more than {self.ctx.limits.max_records} records"
                    )
                else:
                    self.error = VerificationError(
                        f"package record {self.count + 1}: truncated (no end of line)"
                    )
                return


# Streams whose ``readinto`` is their own and reads what ``read`` would: files, pipes, memory.
# Any other stream is read with ``read`` — a subclass may hash or count in ``read`` (and a
# built-in ``readinto`` would go around it), and a RawIOBase with only ``read`` inherits a
# ``readinto`` that raises NotImplementedError.
_READINTO_TYPES = (io.BufferedReader, io.BytesIO, io.FileIO)


def _bytes_left(stream: IO[bytes]) -> int | None:
    """What is left to read of a regular file or a BytesIO, or None (a pipe, anything else)."""
    try:
        if type(stream) is io.BytesIO:
            with stream.getbuffer() as whole:
                return max(0, whole.nbytes - stream.tell())
        if type(stream) in _READINTO_TYPES:
            st = os.fstat(stream.fileno())
            if stat.S_ISREG(st.st_mode):
                return max(0, st.st_size - stream.tell())
    except (OSError, ValueError):
        pass  # no file number, closed, or not seekable: read as a stream
    return None


def _read_into(stream: IO[bytes], into: memoryview) -> int:
    """Fill ``into`` from ``stream`` up to its end; the bytes read (0: the end of the stream)."""
    got = 0
    if type(stream) in _READINTO_TYPES:
        while got < len(into):  # a pipe returns what it has
            n = stream.readinto(into[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        return got
    while got < len(into):
        data = stream.read(len(into) - got)
        if not data:
            break
        into[got : got + len(data)] = data
        got += len(data)
    return got


def _trailer_at(buf: bytearray, cut: int) -> int:
    """Where the trailer line starts in ``buf[:cut]`` (whole lines), or -1."""
    if buf.startswith(_TRAILER_MAGIC, 0, cut):
        return 0
    at = buf.find(b"\n" + _TRAILER_MAGIC, 0, cut)
    return at + 1 if at >= 0 else -1


@dataclass
class Scan:
    """What one read of the records left: the count, the digest computed, the trailer line,
    and (when opening) the spool of sealed block results in file order."""

    count: int
    digest: bytes
    trailer: bytes | None
    extra: bool
    spool: IO[bytes] | None
    blocks: list[tuple[int, int, int]]  # (first record index, spool offset, length)
    spool_key: bytes | None
    schema: pa.Schema | None


def scan_blocks(
    stream: IO[bytes], ctx: _Context, *, mode: str, workers: int, spool_dir: str | None
) -> Scan:
    """§8 step 4 over every record, block by block (and, opening, every key and value);
    raises the first problem in file order. The caller checks the trailer (steps 5–6)."""
    global _JOB  # noqa: PLW0603 - workers are forked from this state (no key is serialised)
    suite = ctx.suite
    pattern = record_pattern(
        ctx.info, digest_len=suite.digest_len, key_len=suite.key_len, limits=ctx.limits
    )
    spool_key = suite.random(suite.key_len) if mode != VERIFY else None
    spool = tempfile.TemporaryFile(dir=spool_dir) if mode != VERIFY else None  # noqa: SIM115
    hasher = suite.hasher()
    cutter = _Cutter(stream, ctx, hasher)
    blocks: list[tuple[int, int, int]] = []
    offset = 0
    _JOB = _Job(ctx, mode, pattern, spool_key)
    # progress events for a terminal, when the caller asked for them (xinan.progress)
    meter = progress.start(_PASS[mode], fraction=progress.stream_fraction(stream))
    try:
        blocks_in = cutter.items()
        shared = BLOCK_BYTES + _CARRY
        for (first, _n), res in ordered_map(_work, blocks_in, workers=workers, shared_bytes=shared):
            if res[0] != "ok":
                raise _rebuild(res)
            if meter is not None:
                meter.add(_n)
            if spool is not None:
                spool.write(res[1])
                blocks.append((first, offset, len(res[1])))
                offset += len(res[1])
        if cutter.error is not None:
            raise cutter.error
        if meter is not None:
            meter.end()
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    finally:
        _JOB = None
    return Scan(
        cutter.count,
        hasher.finalize(),
        cutter.trailer,
        cutter.extra,
        spool,
        blocks,
        spool_key,
        _schema(ctx, mode) if mode != VERIFY else None,
    )


def spooled_batches(ctx: _Context, scan: Scan) -> Iterator[pa.RecordBatch]:
    """The spooled block results in file order, as Arrow batches (after §8 passed)."""
    spool, key, schema = scan.spool, scan.spool_key, scan.schema
    if spool is None or key is None or schema is None:  # pragma: no cover - internal misuse
        raise errors.UsageError("package reader: nothing spooled")
    try:
        for first, offset, length in scan.blocks:
            spool.seek(offset)
            yield _open_spooled(ctx, key, schema, spool.read(length), first)
    finally:
        spool.close()


# The function map_spooled runs on each spooled batch, set before the workers fork (like _JOB).
_MAP: tuple[_Context, bytes, pa.Schema, Callable[[pa.RecordBatch], Any]] | None = None


def _map_work(arg: tuple[bytes, int]) -> tuple[Any, ...]:
    """One spooled block in a worker: opened under the spool key, then handed to the job's
    function: ``("ok", result)`` or ``("err", class, message, hint)``."""
    data, first = arg
    if _MAP is None:  # pragma: no cover - internal misuse
        return ("err", "UsageError", "package reader: no map job", None)
    ctx, key, schema, fn = _MAP
    try:
        return ("ok", fn(_open_spooled(ctx, key, schema, data, first)))
    except XinanError as e:
        return ("err", type(e).__name__, e.message, e.hint)


def _open_spooled(
    ctx: _Context, key: bytes, schema: pa.Schema, data: bytes, first: int
) -> pa.RecordBatch:
    try:
        plain = _spool_aead(ctx, key).open(_nonce(first), data, _SPOOL_AAD)
    except IntegrityError:
        raise IntegrityError(
            "the private spool of this open was altered; nothing more is released"
        ) from None
    return pa.ipc.read_record_batch(pa.py_buffer(plain), schema)


def map_spooled(
    ctx: _Context, scan: Scan, fn: Callable[[pa.RecordBatch], R], *, workers: int
) -> Iterator[R]:
    """``fn`` of each spooled batch, in file order, run in ``workers`` forked processes (after
    §8 passed): what a caller does with every released block — the vault's ingest — on every
    core. ``fn`` must be picklable by name or a closure set here before the fork; its results
    cross back to this process (they should hold no plaintext the caller would not hand out)."""
    global _MAP  # noqa: PLW0603 - workers are forked from this state (no key is serialised)
    spool, key, schema = scan.spool, scan.spool_key, scan.schema
    if spool is None or key is None or schema is None:  # pragma: no cover - internal misuse
        raise errors.UsageError("package reader: nothing spooled")

    def blocks() -> Iterator[tuple[None, tuple[bytes, int]]]:
        for first, offset, length in scan.blocks:
            spool.seek(offset)
            yield None, (spool.read(length), first)

    _MAP = (ctx, key, schema, fn)
    try:
        shared = 2 * BLOCK_BYTES  # a spooled block is about its records' size; larger: the pipe
        for _tag, res in ordered_map(_map_work, blocks(), workers=workers, shared_bytes=shared):
            if res[0] != "ok":
                raise _rebuild(res)
            yield res[1]
    finally:
        _MAP = None
        spool.close()


def batch_records(ctx: _Context, batch: pa.RecordBatch, mode: str) -> Iterator[Any]:
    """The records of one spooled batch: :class:`OpenedRecord` or :class:`KeyedRecord`."""
    nc, ns = len(ctx.info.clear_fields), len(ctx.info.sealed_fields)
    cols = [c.to_pylist() for c in batch.columns]
    pos, rid, src = cols[0], cols[1], cols[2]
    clear = list(zip(*cols[3 : 3 + nc], strict=True)) if nc else [()] * batch.num_rows
    if mode == OPEN:
        sealed = list(zip(*cols[3 + nc :], strict=True)) if ns else [()] * batch.num_rows
        for i in range(batch.num_rows):
            yield OpenedRecord(pos[i], rid[i], src[i], clear[i], sealed[i])
        return
    b0, k0 = 3 + nc, 3 + nc + ns
    blobs = list(zip(*cols[b0:k0], strict=True)) if ns else [()] * batch.num_rows
    fks = list(zip(*cols[k0 : k0 + ns], strict=True)) if ns else [()] * batch.num_rows
    rks = cols[-1]
    for i in range(batch.num_rows):
        yield KeyedRecord(pos[i], rid[i], src[i], clear[i], blobs[i], fks[i], rks[i])
