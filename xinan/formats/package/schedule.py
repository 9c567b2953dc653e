"""``xinan-package/1`` labels, encoding helpers and key schedule (docs/package.md §1, §5).

The vault and destruction reuse :func:`derive_field_key`, :func:`commit_key` and
:func:`open_sealed_value`; every primitive goes through a :class:`~xinan.crypto.base.CryptoSuite`.
"""

from __future__ import annotations

import binascii
import re

from xinan.crypto.base import CryptoSuite
from xinan.errors import (
    IntegrityError,
    VerificationError,
)

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

_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64


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
