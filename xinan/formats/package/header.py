"""Reading ``xinan-package/1``: the header, the sender and the package key (docs/package.md §3,
§8 steps 1–3)."""

from __future__ import annotations

import json
from typing import IO, Any

from xinan._codec import compact_json, loads_canonical
from xinan.crypto import get_suite
from xinan.crypto.base import Aead, CryptoSuite, SuiteName
from xinan.errors import (
    IntegrityError,
    KeyringError,
    MalformedJSON,
    VerificationError,
)
from xinan.formats.package.models import (
    KemKey,
    Limits,
    PackageInfo,
    PublicKeys,
    ReleaseLookup,
    TrustLookup,
)
from xinan.formats.package.schedule import (
    _CREATED,
    _HEADER_KEYS,
    _HEX32,
    _MAGIC,
    AUDIENCES,
    FORMAT,
    INFO_PK,
    L_PC,
    RELEASE_MODES,
    _a2b,
    _check_text,
    _pk_aad,
    _unb64,
    commit_key,
    enc,
)


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
