"""C2SP signed notes, verifier keys (vkeys) and tlog cosignatures (docs/audit-log.md §4.1).

Owns: the note text format (parse, format, byte-exact round trip), the key id, the
``NoteSigner``/``NoteVerifier`` protocol, the vkey text form and its type registry, and the
signed-note opening rules (unknown keys ignored, duplicates of a known key rejected, every known
line must verify, required keys must be present).

Also holds the two Ed25519 adapters the format needs: signed-note type 0x01 and
cosignature/v1 type 0x04. The *message framing* is format-specific (the cosignature signs
``cosignature/v1\\ntime <t>\\n`` ‖ text and prefixes the timestamp), so it lives here; the
signature itself is the crypto layer's (:func:`xinan.crypto.recipes.sign_ed25519`). Key
custody belongs to :mod:`xinan.keys` / :mod:`xinan.crypto`, which may hand in any object
satisfying the protocol (an SM2 signer, an HSM) instead.

Does not own: what a note says (see :mod:`xinan.audit.checkpoint`), key files.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from xinan._codec import b64decode
from xinan.crypto.base import PrivateKey, SuiteName
from xinan.crypto.recipes import (
    ed25519_key_from_seed,
    hash_function,
    sign_ed25519,
    verify_ed25519,
)
from xinan.errors import IntegrityError, NoteError, UsageError

__all__ = [
    "SIG_TYPE_COSIGNATURE_V1",
    "SIG_TYPE_ED25519",
    "SIG_TYPE_SM2",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "add_signatures",
    "cosignature_time",
    "key_id",
    "looks_like_vkey",
    "open_note",
    "parse_note",
    "parse_vkey",
    "parse_vkeys",
    "read_vkeys",
    "register_vkey_type",
    "sign_note",
]

# C2SP signed-note signature type identifiers.
SIG_TYPE_ED25519 = b"\x01"
SIG_TYPE_COSIGNATURE_V1 = b"\x04"
# Private-use type (signed-note: 0xff "followed by a longer identifier"): SM2 with SM3 and the
# GB/T 35276 default user id, 64-byte r‖s. The whole 14 bytes are the "type" everywhere.
SIG_TYPE_SM2 = b"\xffxinan.sm2/v1\x00"

MAX_SIGNATURES = 100  # signed-note: MUST accept at least 16
EM_DASH = "\u2014"
COSIGNATURE_HEADER = b"cosignature/v1\n"


_SHA256 = hash_function("sha256")


def key_id(name: str, sig_type: bytes, public_key: bytes) -> int:
    """``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`` as a big-endian uint32.

    SHA-256 in every suite, the gm one included: C2SP signed-note fixes this key id for every
    signature type so that any note verifier finds the key; it is a 4-byte lookup hint, not a
    protection (the signature is, SM2 with SM3 in gm). docs/audit-log.md §4.1 says so.
    """
    digest = _SHA256(name.encode() + b"\n" + sig_type + public_key)
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    # signed-note: non-empty, no Unicode spaces, no "+".
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise UsageError(f"invalid note key name {name!r}", hint="use a schema-less URL")


@runtime_checkable
class NoteVerifier(Protocol):
    """Checks one key's signatures on notes."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, msg: bytes, sig: bytes) -> None:
        """Raise :class:`~xinan.errors.IntegrityError` unless ``sig`` signs ``msg``."""
        ...


@runtime_checkable
class NoteSigner(Protocol):
    """Makes one key's signatures on notes (``msg`` is the note text)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, msg: bytes) -> bytes: ...


# -- Ed25519 (type 0x01) --------------------------------------------------------------------


@runtime_checkable
class _RawEd25519Key(Protocol):
    """A key object that can give its 32-byte Ed25519 seed (e.g. cryptography's
    ``Ed25519PrivateKey``): accepted for callers that hold such keys already."""

    def private_bytes_raw(self) -> bytes: ...


def _ed25519_handle(private_key: PrivateKey | _RawEd25519Key) -> PrivateKey:
    if isinstance(private_key, PrivateKey):
        if private_key.suite not in (SuiteName.INTL, SuiteName.PQ) or private_key.purpose != "sign":
            raise UsageError("a note's Ed25519 signer needs an intl or pq signing key")
        return private_key
    return ed25519_key_from_seed(private_key.private_bytes_raw())


def _verify_ed25519(public: bytes, msg: bytes, sig: bytes, what: str) -> None:
    try:
        verify_ed25519(public, msg, sig)
    except IntegrityError:
        raise NoteError(f"{what} does not verify") from None


@dataclass(frozen=True)
class Ed25519Verifier:
    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise UsageError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> int:
        return key_id(self.name, SIG_TYPE_ED25519, self.public_key)

    def verify(self, msg: bytes, sig: bytes) -> None:
        _verify_ed25519(self.public_key, msg, sig, f"signature by {self.name}")

    def vkey(self) -> str:
        return format_vkey(self.name, SIG_TYPE_ED25519, self.public_key)


class Ed25519Signer:
    """Signs notes with an Ed25519 key (signed-note type 0x01): an intl or pq signing key
    handle from :mod:`xinan.crypto`, or an object giving its raw seed."""

    def __init__(self, name: str, private_key: PrivateKey | _RawEd25519Key) -> None:
        _check_name(name)
        self._name = name
        self._key = _ed25519_handle(private_key)
        self._pub = self._key.public_bytes()

    def __repr__(self) -> str:  # never the key
        return f"Ed25519Signer({self._name!r}, key_id={self.key_id:08x})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return key_id(self._name, SIG_TYPE_ED25519, self._pub)

    def sign(self, msg: bytes) -> bytes:
        return sign_ed25519(self._key, msg)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._pub)


# -- cosignature/v1 (type 0x04) -------------------------------------------------------------


def _cosigned_message(timestamp: int, text: bytes) -> bytes:
    # C2SP tlog-cosignature: "cosignature/v1\n" "time <t>\n" then the whole note text.
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp + text


def cosignature_time(sig: bytes) -> int:
    """The POSIX timestamp inside a cosignature/v1 signature (unauthenticated until verified)."""
    if len(sig) != 72:
        raise NoteError("malformed cosignature")
    return int(struct.unpack(">Q", sig[:8])[0])


@dataclass(frozen=True)
class CosignatureVerifier:
    """Checks a witness's cosignature/v1 lines; ``max_time`` rejects future timestamps."""

    name: str
    public_key: bytes
    max_time: int | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise UsageError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> int:
        return key_id(self.name, SIG_TYPE_COSIGNATURE_V1, self.public_key)

    def verify(self, msg: bytes, sig: bytes) -> None:
        t = cosignature_time(sig)
        if t >= 1 << 63 or (self.max_time is not None and t > self.max_time):
            raise NoteError(f"cosignature by {self.name} does not verify")
        _verify_ed25519(
            self.public_key, _cosigned_message(t, msg), sig[8:], f"cosignature by {self.name}"
        )

    def vkey(self) -> str:
        return format_vkey(self.name, SIG_TYPE_COSIGNATURE_V1, self.public_key)


class CosignatureSigner:
    """A witness's cosigner: timestamped Ed25519 over ``cosignature/v1`` framing.

    The witness MUST have checked the checkpoint's consistency with what it saw before
    (C2SP tlog-cosignature); this class only signs. ``clock`` gives the signing time.
    """

    def __init__(
        self,
        name: str,
        private_key: PrivateKey | _RawEd25519Key,
        clock: Callable[[], datetime],
    ) -> None:
        _check_name(name)
        self._name = name
        self._key = _ed25519_handle(private_key)
        self._clock = clock
        self._pub = self._key.public_bytes()

    def __repr__(self) -> str:
        return f"CosignatureSigner({self._name!r}, key_id={self.key_id:08x})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return key_id(self._name, SIG_TYPE_COSIGNATURE_V1, self._pub)

    def sign(self, msg: bytes) -> bytes:
        t = int(self._clock().timestamp())
        return struct.pack(">Q", t) + sign_ed25519(self._key, _cosigned_message(t, msg))

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._pub)


# -- vkeys -------------------------------------------------------------------------------

VkeyFactory = Callable[[str, bytes], NoteVerifier]
_VKEY_TYPES: dict[bytes, VkeyFactory] = {
    SIG_TYPE_ED25519: Ed25519Verifier,
    SIG_TYPE_COSIGNATURE_V1: CosignatureVerifier,
}


def register_vkey_type(sig_type: bytes, factory: VkeyFactory) -> None:
    """Teach :func:`parse_vkey` a signature type (e.g. ``SIG_TYPE_SM2`` from xinan.crypto)."""
    _VKEY_TYPES[sig_type] = factory


def format_vkey(name: str, sig_type: bytes, public_key: bytes) -> str:
    """``<name>+<hex key id>+<base64(type ‖ public key)>`` (signed-note verifier key)."""
    kid = key_id(name, sig_type, public_key)
    return f"{name}+{kid:08x}+{base64.b64encode(sig_type + public_key).decode()}"


# signed-note: <name>+<hex key id>+<base64(type ‖ key)>, the name without spaces or "+".
_VKEY_SHAPE = re.compile(r"[^+\s\ud800-\udfff]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}")
_MAX_VKEY_CHARS = 8192  # far above any key type's length; bounds the work on hostile text


def looks_like_vkey(text: str) -> bool:
    """True when ``text`` has the shape of one vkey (a CLI telling a key from a file name)."""
    return len(text) <= _MAX_VKEY_CHARS and _VKEY_SHAPE.fullmatch(text) is not None


def parse_vkey(text: str) -> NoteVerifier:
    """Parse a vkey; raises :class:`UsageError` if malformed, unknown, or its id is wrong.

    ``text`` is always data, never a file name (see :func:`read_vkeys` for files)."""
    bad = UsageError(
        "not a verifier key (expected <name>+<8 hex>+<base64>)",
        hint="pass the log's or witness's vkey, or a file holding one",
    )
    text = text.strip()
    if not looks_like_vkey(text):
        raise bad
    name, hexid, b64 = text.split("+", 2)
    try:
        raw = b64decode(b64)
        kid = int(hexid, 16)
    except ValueError:
        raise bad from None
    for sig_type in sorted(_VKEY_TYPES, key=len, reverse=True):
        if raw.startswith(sig_type):
            pub = raw[len(sig_type) :]
            if key_id(name, sig_type, pub) != kid or hexid != f"{kid:08x}":
                raise UsageError(f"verifier key {name}: key id does not match the key")
            return _VKEY_TYPES[sig_type](name, pub)
    raise UsageError(f"verifier key {name}: unsupported signature type")


def parse_vkeys(text: str, where: str = "verifier keys") -> list[NoteVerifier]:
    """The vkeys in ``text``, one per line (blank lines and ``#`` comments skipped); at least
    one. ``text`` is data, never a file name. Raises :class:`UsageError`."""
    keys: list[NoteVerifier] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            keys.append(parse_vkey(line))
        except UsageError as e:
            raise UsageError(f"{where}: line {n}: {e.message}", hint=e.hint) from None
    if not keys:
        raise UsageError(f"{where}: no verifier key", hint="one vkey per line, # for comments")
    return keys


def read_vkeys(path: str | Path) -> list[NoteVerifier]:
    """The vkeys in the file at ``path`` (UTF-8, :func:`parse_vkeys`). Raises
    :class:`UsageError` when the file cannot be read or holds no valid key."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "…"
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(
            f"{shown!r} is not a verifier key (<name>+<8 hex>+<base64>), nor a file that can "
            f"be read ({e.strerror or type(e).__name__})",
            hint="pass the log's or witness's vkey, or a file holding one per line",
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{shown}: not a verifier key file (not UTF-8)") from None
    return parse_vkeys(text, shown)


# -- notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{EM_DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note's text (ending in a newline) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()


def parse_note(data: bytes | str) -> Note:
    """Parse a signed note (no signature is checked). Raises :class:`NoteError`.

    A note is UTF-8 bytes (signed-note); ``str`` is accepted when it is Unicode text (no lone
    surrogate, so it has exactly one UTF-8 form: the bytes that are signed)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise NoteError("note is not Unicode text (a lone surrogate)") from None
    if not isinstance(data, bytes):
        raise NoteError("note is not bytes")
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("note is not UTF-8") from None
    if any(c < " " and c != "\n" for c in s) or "\x7f" in s:
        raise NoteError("note contains control characters")
    if not s.endswith("\n"):
        raise NoteError("note does not end with a newline")
    i = s.rfind("\n\n")
    if i < 0:
        raise NoteError("note has no signature block")
    text, block = s[: i + 1], s[i + 2 :]
    sig_lines = block.split("\n")[:-1]
    if not sig_lines or len(sig_lines) > MAX_SIGNATURES:
        raise NoteError("note has no (or too many) signature lines")
    sigs: list[NoteSignature] = []
    for line in sig_lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not parts[1] or "+" in parts[1]:
            raise NoteError("malformed note signature line")
        try:
            blob = b64decode(parts[2])
        except ValueError:
            raise NoteError("malformed note signature line") from None
        if len(blob) < 5:
            raise NoteError("malformed note signature line")
        sigs.append(NoteSignature(parts[1], int.from_bytes(blob[:4], "big"), blob[4:]))
    return Note(text, tuple(sigs))


def sign_note(text: str, signers: Sequence[NoteSigner]) -> Note:
    """Sign ``text`` (which must end with a newline) with each signer, in order."""
    if not text.endswith("\n") or "\n\n" in text:
        raise UsageError("note text must end with one newline and hold no blank line")
    if not signers:
        raise UsageError("a note needs at least one signer")
    return add_signatures(Note(text, ()), signers)


def add_signatures(note: Note, signers: Iterable[NoteSigner]) -> Note:
    """``note`` with one more signature line per signer (a witness adds a cosignature)."""
    msg = note.text.encode()
    new = [NoteSignature(s.name, s.key_id, s.sign(msg)) for s in signers]
    for s in new:
        _check_name(s.name)
    return Note(note.text, (*note.signatures, *new))


def open_note(
    data: bytes | str | Note,
    known: Sequence[NoteVerifier],
    *,
    required: Sequence[NoteVerifier] = (),
) -> Note:
    """Parse and verify a note by the signed-note rules (docs/audit-log.md §4.1).

    Lines of unknown keys (name *and* key id) are ignored; two lines of one known key reject
    the note; every known key's line must verify; at least one line of a ``known`` key (the
    log's keys) must be present, and one of every ``required`` key (witnesses).
    Raises :class:`NoteError`; returns the parsed note.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    by_id = {(v.name, v.key_id): v for v in (*known, *required)}
    msg = note.text.encode()
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        k = (sig.name, sig.key_id)
        v = by_id.get(k)
        if v is None:
            continue
        if k in seen:
            raise NoteError(f"note has two signatures by {sig.name}")
        seen.add(k)
        v.verify(msg, sig.signature)
    if not any((v.name, v.key_id) in seen for v in known):
        raise NoteError("note has no signature by a known key")
    for v in required:
        if (v.name, v.key_id) not in seen:
            raise NoteError(f"note lacks the required signature by {v.name}")
    return note
