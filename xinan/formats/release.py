"""The release file ``xinan-release/1`` (spec: docs/package.md §6.4).

Owns the byte layout of a release file — the release secrets ``R`` of one per-record share,
encrypted to the share's querent and signed by the platform — building it (the platform's
side, :meth:`xinan.platform.vault.Vault.release`) and reading it (the querent's side,
:mod:`xinan.querent.open_share`): canonical form, signature, the match with the verified share
package,
unwrapping and parsing, in the spec's order.

Does not own deciding *which* secrets are released (the vault), the share format
(:mod:`xinan.formats.package`) or the grant checks. It never reads the clock: ``now`` is a
parameter.
A :class:`Release` keeps its secrets out of ``repr``; nothing here logs a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xinan._codec import b64decode, b64encode, compact_json, loads_canonical
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite
from xinan.errors import IntegrityError, KeyringError, UsageError, VerificationError
from xinan.formats.package import RELEASE_SECRET_LEN, PackageInfo, enc
from xinan.keys import Identity, PublicKeyInfo, Role

FORMAT = "xinan-release/1"
_L = FORMAT.encode("ascii")
INFO_RELEASE_KEY = _L + b" release-key"
L_RELEASE_KEY_COMMIT = _L + b" release-key-commitment\x00"
L_RELEASE_AAD = _L + b" release\x00"
L_SIG = _L + b" signature\x00"
MAX_RELEASE_BYTES = 64 << 20  # §6.4 step 1: about a million secrets
_ZERO_NONCE = bytes(12)  # K_rel is fresh per file and encrypts one plaintext once
MEMBERS = (
    "format",
    "id",
    "suite",
    "share",
    "grant",
    "querent",
    "sender",
    "created",
    "records",
    "withheld",
    "wrapped",
    "key_commitment",
    "secrets",
    "signature",
)
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_CREATED = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")

__all__ = [
    "FORMAT",
    "MAX_RELEASE_BYTES",
    "Release",
    "build_release",
    "open_release",
    "read_release_header",
]


@dataclass(frozen=True)
class Release:
    """A verified, opened release: which records of which share have their secret here."""

    release_id: str
    share_id: str
    grant: str
    querent: str
    sender: str
    created: str
    withheld: int
    secrets: Mapping[str, bytes] = field(repr=False)

    def lookup(self) -> Callable[[str, str], bytes | None]:
        """The ``ReleaseLookup`` for :func:`xinan.formats.package.open_package`: ``R`` for a
        released
        record of this share, None (withheld, docs/package.md §6.3) for any other."""
        secrets = dict(self.secrets)
        share = self.share_id

        def look(share_id: str, record_id: str) -> bytes | None:
            if share_id != share:
                return None
            return secrets.get(record_id)

        return look


_b64 = b64encode


def _unb64(s: object, what: str) -> bytes:
    try:
        return b64decode(s)  # docs/package.md §1: canonical base64 only
    except ValueError as e:
        raise VerificationError(f"release file: {what}: {e}") from None


def _aad(doc: Mapping[str, Any]) -> bytes:
    return (
        L_RELEASE_AAD
        + bytes.fromhex(doc["id"])
        + bytes.fromhex(doc["share"])
        + enc(doc["suite"])
        + enc(doc["grant"])
        + enc(doc["querent"])
        + enc(doc["sender"])
    )


def _encode(doc: Mapping[str, Any]) -> bytes:
    return compact_json(doc) + b"\n"  # §6.4: the one encoding a reader accepts


def _signed_message(suite: CryptoSuite, doc: Mapping[str, Any]) -> bytes:
    return L_SIG + suite.digest(_encode({**doc, "signature": ""}))


def _pack(secrets: Iterable[tuple[str, bytes]]) -> tuple[bytes, int]:
    """S = u32(n) ‖ (enc(record_id) ‖ R)*, ids in strictly increasing UTF-8 byte order."""
    items = sorted(((rid.encode("utf-8"), rid, r) for rid, r in secrets), key=lambda x: x[0])
    parts: list[bytes] = [len(items).to_bytes(4, "big")]
    prev: bytes | None = None
    for raw, rid, r in items:
        if raw == prev:
            raise UsageError(f"release: record {rid!r} twice")
        if len(r) != RELEASE_SECRET_LEN:
            raise UsageError(f"release: the secret of record {rid!r} is not 32 bytes")
        parts.append(enc(rid) + r)
        prev = raw
    return b"".join(parts), len(items)


def _unpack(data: bytes) -> dict[str, bytes]:
    bad = IntegrityError("release file: the secrets are damaged")
    if len(data) < 4:
        raise bad
    n = int.from_bytes(data[:4], "big")
    at = 4
    out: dict[str, bytes] = {}
    prev: bytes | None = None
    for _ in range(n):
        if at + 2 > len(data):
            raise bad
        ln = int.from_bytes(data[at : at + 2], "big")
        raw = data[at + 2 : at + 2 + ln]
        r = data[at + 2 + ln : at + 2 + ln + RELEASE_SECRET_LEN]
        if len(raw) != ln or len(r) != RELEASE_SECRET_LEN or (prev is not None and raw <= prev):
            raise bad
        try:
            out[raw.decode("utf-8")] = r
        except UnicodeDecodeError:
            raise bad from None
        prev = raw
        at += 2 + ln + RELEASE_SECRET_LEN
    if at != len(data):
        raise bad
    return out


def build_release(
    *,
    share: PackageInfo,
    querent: PublicKeyInfo,
    platform: Identity,
    secrets: Iterable[tuple[str, bytes]],
    withheld: int,
    now: datetime,
) -> tuple[str, bytes]:
    """The release file (docs/package.md §6.4) of ``secrets`` (record id, R) for the verified
    per-record ``share``, encrypted to ``querent`` and signed by ``platform``.

    Returns (release id, file bytes)."""
    if share.audience != "share" or share.release != "per-record" or share.grant is None:
        raise UsageError("a release file is made for a share with per-record release only")
    if querent.role is not Role.QUERENT or querent.key_id not in share.recipients:
        raise UsageError(f"{querent.id} is not the querent of share {share.package_id}")
    if platform.key_id != share.sender:
        raise UsageError(f"share {share.package_id} was not sent by {platform.info.id}")
    if querent.suite is not share.suite or platform.info.suite is not share.suite:
        raise UsageError("the release, the share and both keys must be of one suite")
    if now.tzinfo is None:
        raise UsageError("the creation time must be timezone-aware")
    suite = get_suite(share.suite)
    plain, n = _pack(secrets)
    if withheld < 0 or n + withheld != share.count:
        raise UsageError(f"release: {n} released + {withheld} withheld ≠ {share.count} records")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "id": suite.random(16).hex(),
        "suite": share.suite.value,
        "share": share.package_id,
        "grant": share.grant,
        "querent": querent.key_id,
        "sender": platform.key_id,
        "created": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "records": n,
        "withheld": withheld,
        "wrapped": "",
        "key_commitment": "",
        "secrets": "",
        "signature": "",
    }
    aad = _aad(doc)
    k_rel = suite.random(suite.key_len)
    doc["wrapped"] = _b64(suite.wrap(querent.kem, k_rel, INFO_RELEASE_KEY, aad))
    doc["key_commitment"] = _b64(suite.digest(L_RELEASE_KEY_COMMIT + k_rel))
    doc["secrets"] = _b64(suite.aead(k_rel).seal(_ZERO_NONCE, plain, aad))
    doc["signature"] = _b64(platform.sign(_signed_message(suite, doc)))
    return doc["id"], _encode(doc)


def read_release_header(data: bytes, *, max_bytes: int = MAX_RELEASE_BYTES) -> dict[str, Any]:
    """§6.4 step 1: the file's members, checked for shape and canonical form only (nothing
    here is authentic yet)."""
    bad = VerificationError(
        "not a valid xinan-release/1 file",
        hint="ask the platform for the release file again (`xinan release`); do not edit it",
    )
    if len(data) > max_bytes:
        raise VerificationError(f"release file larger than {max_bytes} bytes")
    try:
        # strict JSON, byte for byte the writer's encoding (so one release, one byte string)
        doc = loads_canonical(data, _encode)
    except ValueError:  # MalformedJSON
        raise bad from None
    if not isinstance(doc, dict) or tuple(doc) != MEMBERS or doc["format"] != FORMAT:
        raise bad
    for name in ("id", "share"):
        if not isinstance(doc[name], str) or not _HEX32.match(doc[name]):
            raise bad
    for name in ("suite", "grant", "querent", "sender", "created"):
        if not isinstance(doc[name], str) or not doc[name] or len(doc[name]) > 512:
            raise bad
    if not _CREATED.match(doc["created"]):
        raise bad
    for name in ("records", "withheld"):
        if type(doc[name]) is not int or doc[name] < 0:
            raise bad
    return doc


def open_release(
    data: bytes,
    *,
    share: PackageInfo,
    identity: Identity,
    trust: Callable[[str], PublicKeyInfo],
    max_bytes: int = MAX_RELEASE_BYTES,
) -> Release:
    """Verify a release file against the verified ``share`` and open it with the querent's
    ``identity`` (docs/package.md §6.4 steps 1–4). Raises VerificationError (shape, unknown
    sender, wrong share or querent) or IntegrityError (signature, unwrap, secrets)."""
    doc = read_release_header(data, max_bytes=max_bytes)
    # 2. the sender: a platform key of the file's suite in the reader's trust store
    try:
        sender = trust(doc["sender"])
    except KeyringError:
        raise VerificationError(
            f"release file: sender {doc['sender']} is not in the trust store",
            hint="add the platform's public key with `xinan keys add`",
        ) from None
    if sender.key_id != doc["sender"] or sender.role is not Role.PLATFORM:
        raise VerificationError(f"release file: {sender.id} is not the platform key it names")
    if sender.suite.value != doc["suite"]:
        raise VerificationError("release file: suite mismatch with its sender's key")
    suite = get_suite(sender.suite)
    try:
        sig = _unb64(doc["signature"], "signature")
        suite.verify(sender.sig, _signed_message(suite, doc), sig)
    except (VerificationError, IntegrityError):
        raise IntegrityError(
            f"release file signature by {sender.id} does not verify",
            hint="the file was altered after signing; ask the platform for it again",
        ) from None
    # 3. authentic from here on: is it for this share and this reader?
    problems: list[str] = []
    if doc["share"] != share.package_id:
        problems.append(f"it releases share {doc['share']}, not {share.package_id}")
    if doc["grant"] != share.grant:
        problems.append(f"it serves grant {doc['grant']}, not the share's")
    if doc["sender"] != share.sender or doc["suite"] != share.suite.value:
        problems.append("it was not made by the share's sender in the share's suite")
    if doc["querent"] != identity.key_id:
        problems.append(f"it is for querent key {doc['querent']}, not {identity.key_id}")
    if doc["records"] + doc["withheld"] != share.count:
        problems.append(
            f"it accounts for {doc['records'] + doc['withheld']} records, the share has "
            f"{share.count}"
        )
    if problems:
        raise VerificationError(
            "release file does not match the share: " + "; ".join(problems),
            hint="use the release file the platform made for this share and your key",
        )
    # 4. unwrap, commitment, secrets
    aad = _aad(doc)
    try:
        k_rel = identity.unwrap(_unb64(doc["wrapped"], "wrapped"), INFO_RELEASE_KEY, aad)
    except (IntegrityError, VerificationError):
        raise IntegrityError("release file: the release key did not unwrap") from None
    if suite.digest(L_RELEASE_KEY_COMMIT + k_rel) != _unb64(doc["key_commitment"], "commitment"):
        raise IntegrityError("release file: the release key does not match its commitment")
    try:
        plain = suite.aead(k_rel).open(_ZERO_NONCE, _unb64(doc["secrets"], "secrets"), aad)
    except (IntegrityError, VerificationError):
        raise IntegrityError("release file: the secrets did not open") from None
    secrets = _unpack(plain)
    if len(secrets) != doc["records"]:
        raise IntegrityError("release file: the secrets do not match their count")
    return Release(
        release_id=doc["id"],
        share_id=doc["share"],
        grant=doc["grant"],
        querent=doc["querent"],
        sender=doc["sender"],
        created=doc["created"],
        withheld=doc["withheld"],
        secrets=secrets,
    )
