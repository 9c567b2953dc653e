"""Reading ``xinan-package/1``: record lines, record and field keys, values, the trailer
(docs/package.md §4–§7, §8 steps 4–5)."""

from __future__ import annotations

import binascii
import json
from typing import Any, NamedTuple

from xinan._codec import compact_json, is_compact_json, loads_canonical
from xinan.errors import (
    IntegrityError,
    MalformedJSON,
    UsageError,
    VerificationError,
)
from xinan.formats.package.header import _Context, _loads_record
from xinan.formats.package.models import KeyedRecord, OpenedRecord
from xinan.formats.package.schedule import (
    _CTR1,
    _CTRL,
    _HEX32,
    _ZERO_NONCE,
    L_FC,
    L_FK,
    L_RK,
    L_VALUE,
    NONCE_LEN,
    TAG_LEN,
    _a2b,
    _b2a,
    _fkw_aad,
    _release_key,
    _trailer_line,
    _unb64,
    enc,
)


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
    """A line the record pattern accepted (:mod:`.lines`: only lines :func:`_parse_record`
    accepts unchanged, with its LF removed): the values without re-checking their shape."""
    a2b = _a2b
    if ctx.info.audience == "submission" and b"\\" not in line:
        # No backslash: no string holds a quote, so the quotes delimit every string and the
        # strings are the odd pieces (rid, clear..., sealed..., wrapped record key), as
        # json.loads would return them for this shape.
        v = line.decode("utf-8").split('"')[1::2]
        nc = len(ctx.info.clear_fields)
        return _Parsed(
            v[0],
            ctx.info.package_id,
            tuple(v[1 : 1 + nc]),
            tuple([a2b(e) for e in v[1 + nc : -1]]),
            (a2b(v[-1]),),
        )
    obj = json.loads(line)
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


def _record_keys(ctx: _Context, p: _Parsed, index: int) -> KeyedRecord:
    """Unwrap a record's keys (§5.2, §6.1) and check every commitment (§5.4)."""
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


class _LongWay(Exception):
    """A record the one-loop reading leaves to the per-record functions (which raise the
    exact error, or agree)."""


def block_rows(
    ctx: _Context, block: bytes, ends: list[int], bad: set[int], first: int, *, opening: bool
) -> list[tuple[Any, ...]]:
    """The rows of one block of record lines, each ``(position, record_id, source,
    *clear, *sealed values)`` when ``opening``, else ``(position, record_id, source, *clear,
    *blobs, *field keys, record key)``: what :func:`_parse_record` (lines in ``bad``) or
    :func:`_parse_verified`, then :func:`_record_keys` and :func:`_decrypt` give per record.

    For a submission line the pattern accepted and that holds no escape (nearly all), the same
    steps run in one loop with no object per record (§5.2–§5.4: unwrap the record key, derive
    each field key, check its commitment, open the value): about a fifth less time per record
    than the per-record functions (14.0 against 17.8 µs opening, 8.0 against 10.5 µs for keys).
    Any record that does not open that way — a refused line, an escape, a key or commitment
    that fails — is read again by the per-record functions, which raise the error a
    line-at-a-time reader raises; so the rows and the first error are the same either way
    (``tests/formats/test_package_read.py``)."""
    info = ctx.info
    nc = len(info.clear_fields)
    suite = ctx.suite
    digest, new_aead = suite.digest, suite.aead
    dl, kl = suite.digest_len, suite.key_len
    # the one loop reads submissions only, once the package key is unwrapped
    fast = info.audience == "submission" and ctx.package_aead is not None
    pk_open = ctx.package_aead.open if fast and ctx.package_aead is not None else None
    rk_pre, fk_pre, val_pre = L_RK + ctx.pid, L_FK + ctx.pid, L_VALUE + ctx.pid
    enames = ctx.enames
    source = info.package_id
    a2b = _a2b
    rows: list[tuple[Any, ...]] = []
    start = 0
    for i, end in enumerate(ends):
        line = block[start:end]
        start = end
        idx = first + i
        if pk_open is not None and i not in bad and b"\\" not in line:
            try:
                # as _parse_verified: no backslash, so the strings are the odd pieces
                v = line[:-1].decode("utf-8").split('"')[1::2]
                rid = v[0]
                erid = enc(rid)
                wk = a2b(v[-1])
                rk = pk_open(wk[:NONCE_LEN], wk[NONCE_LEN:], rk_pre + erid)
                pre = _CTR1 + rk + fk_pre + erid
                vpre = val_pre + erid
                sealed: list[Any] = []
                blobs: list[bytes] = []
                fks: list[bytes] = []
                for en, b64 in zip(enames, v[1 + nc : -1], strict=True):
                    blob = a2b(b64)
                    fk = digest(pre + en)[:kl]
                    if digest(L_FC + fk) != blob[:dl]:
                        raise _LongWay
                    if opening:
                        pt = new_aead(fk).open(_ZERO_NONCE, blob[dl:], vpre + en)
                        sealed.append(pt.decode("utf-8"))
                    else:
                        blobs.append(blob)
                        fks.append(fk)
                clear = v[1 : 1 + nc]
                if opening:
                    rows.append((idx, rid, source, *clear, *sealed))
                else:
                    rows.append((idx, rid, source, *clear, *blobs, *fks, rk))
                continue
            except (_LongWay, IntegrityError, ValueError):
                pass  # UnicodeDecodeError and binascii.Error are ValueErrors: the long way
        rows.append(long_way_row(ctx, line, idx, refused=i in bad, opening=opening))
    return rows


def long_way_row(
    ctx: _Context, line: bytes, idx: int, *, refused: bool, opening: bool
) -> tuple[Any, ...]:
    """One row of :func:`block_rows` from the per-record functions: the parser (the scalar
    one for a line the pattern ``refused``), the keys and commitments, the values."""
    p = _parse_record(ctx, line, idx) if refused else _parse_verified(ctx, line[:-1])
    kr = _record_keys(ctx, p, idx)
    head = (idx, kr.record_id, kr.source_package_id, *kr.clear)
    if opening:
        return (*head, *_decrypt(ctx, kr).sealed)
    return (*head, *kr.blobs, *kr.field_keys, kr.record_key)


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
