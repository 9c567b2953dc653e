"""C2SP tlog-checkpoint bodies: origin, tree size, root hash, extension lines.

Owns: the checkpoint text (strict parse, byte-exact format) and signing/opening a checkpoint
as a signed note (docs/audit-log.md §4.2). The hash of an SM3 log is declared by the one
extension line xinan defines, ``xinan-hash sm3``; without it the tree hash is SHA-256.

Does not own: the note format (:mod:`xinan.audit.note`), the tree (:mod:`xinan.audit.merkle`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from xinan._codec import b64decode
from xinan.audit.note import Note, NoteSigner, NoteVerifier, open_note, parse_note, sign_note
from xinan.errors import NoteError

__all__ = ["HASH_EXTENSION_PREFIX", "Checkpoint", "open_checkpoint", "sign_checkpoint"]

HASH_EXTENSION_PREFIX = "xinan-hash "
_KNOWN_HASH_LINES = {"xinan-hash sm3": "sm3"}


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: ``origin``, ``size`` leaves, ``root`` hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin.startswith("@"):
            raise NoteError("checkpoint origin must be one non-empty line not starting with @")
        if self.size < 0 or len(self.root) != 32:
            raise NoteError("checkpoint size or root hash malformed")
        for ext in self.extensions:
            if not ext or "\n" in ext or ext.startswith("@"):
                raise NoteError("checkpoint extension lines must be non-empty single lines")
            if ext.startswith("xinan-") and ext not in _KNOWN_HASH_LINES:
                raise NoteError(f"unknown checkpoint extension {ext!r}")

    @classmethod
    def for_hash(cls, origin: str, size: int, root: bytes, hash_name: str) -> Checkpoint:
        ext = () if hash_name == "sha256" else (HASH_EXTENSION_PREFIX + hash_name,)
        return cls(origin, size, root, ext)

    @property
    def hash_name(self) -> str:
        for ext in self.extensions:
            if ext in _KNOWN_HASH_LINES:
                return _KNOWN_HASH_LINES[ext]
        return "sha256"

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(x + "\n" for x in (*lines, *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a note text strictly: ``parse(t).text() == t`` or :class:`NoteError`."""
        if not text.endswith("\n"):
            raise NoteError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root lines")
        origin, size_s, root_s, *ext = lines
        if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
            raise NoteError("checkpoint size must be decimal without leading zeros")
        try:
            root = b64decode(root_s)  # canonical, ASCII only (a non-ASCII byte crashed this)
        except ValueError:
            raise NoteError("checkpoint root is not base64") from None
        cp = cls(origin, int(size_s), root, tuple(ext))
        if cp.text() != text:
            raise NoteError("checkpoint is not in canonical form")
        return cp


def sign_checkpoint(cp: Checkpoint, signers: Sequence[NoteSigner]) -> Note:
    """The signed note of ``cp``."""
    return sign_note(cp.text(), signers)


def open_checkpoint(
    data: bytes | str | Note,
    known: Sequence[NoteVerifier],
    *,
    required: Sequence[NoteVerifier] = (),
    origin: str | None = None,
) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint (note rules, then body); optionally pin its origin."""
    note = data if isinstance(data, Note) else parse_note(data)
    cp = Checkpoint.parse(note.text)
    open_note(note, known, required=required)
    if origin is not None and cp.origin != origin:
        raise NoteError(f"checkpoint is for log {cp.origin!r}, not {origin!r}")
    return cp, note
