"""The backup archive ``xinan-backup/1`` (docs/backup.md): bytes in, frozen models out, and back.

Owns: the archive's framing (§2), the manifest (§3), the chunk encryption (§4) and the
signature (§5): :func:`write_archive` streams files into an archive, :func:`read_archive` checks
the structure, every chunk's digest and the signature and returns the :class:`Manifest`,
:func:`extract_files` decrypts (checking everything again) into a directory.

Does not own: which files a vault backup holds or where they go back to
(:mod:`xinan.platform.backup`), the audit entries, SQL, sessions. Cryptographic failures are the
opaque :class:`~xinan.errors.IntegrityError`; a malformed archive is a
:class:`~xinan.errors.BackupInvalid` naming the byte offset and what is wrong.
"""

from __future__ import annotations

import os
import re
import secrets
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from xinan._codec import b64decode, b64encode, canonical_json, loads_strict
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite, SuiteName
from xinan.crypto.recipes import HASH_FOR_SUITE, SecretWrapper
from xinan.errors import BackupInvalid, IntegrityError
from xinan.keys import Identity, PublicKeyInfo

FORMAT = "xinan-backup/1"
MAGIC = (FORMAT + "\n").encode("ascii")
_V = FORMAT.encode("ascii")
INFO_KEY = _V + b" key"
L_KEY = _V + b" key\x00"
L_CHUNK = _V + b" chunk\x00"
L_MANIFEST = _V + b" manifest\x00"
CHUNK = 1 << 20  # plaintext bytes per chunk (§4)
MAX_FRAME = CHUNK + 64  # a chunk's frame: nonce, ciphertext and tag
MAX_MANIFEST = 64 << 20
MAX_SIGNATURE = 4096
T_CHUNK, T_MANIFEST, T_SIGNATURE = b"C", b"M", b"S"
_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
# §3.2: the files an archive may hold — the vault's (sealed) and its audit log's (clear)
_NAME = re.compile(
    r"\A(vault/(vault\.json|vault\.db|keys\.db|revocations\.json|destruction/dc1[a-z2-7]{26}"
    r"\.json)|log/audit(\.checkpoints|\.config|\.pruned|\.signer)?)\Z"
)
_MANIFEST_KEYS = frozenset({"format", "id", "created", "hash", "vault", "made_by", "key", "audit"})
_ALL_KEYS = _MANIFEST_KEYS | {"files"}
_CUT = "the archive was cut or altered (copy interrupted, disk full); use a complete copy"


_b64 = b64encode


def _unb64(s: object, where: str) -> bytes:
    try:
        return b64decode(s)  # canonical base64 only (docs/encoding.md)
    except ValueError as e:
        raise BackupInvalid(f"backup manifest: {where}: {e}") from None


def _chunk_aad(archive_id: bytes, file_index: int, chunk_index: int) -> bytes:
    # §4: a chunk opens only in its archive, file and place
    return L_CHUNK + archive_id + struct.pack(">II", file_index, chunk_index)


def _key_aad(archive_id: bytes, platform_key_id: str) -> bytes:
    k = platform_key_id.encode("utf-8")
    return L_KEY + archive_id + struct.pack(">I", len(k)) + k


# ============================================================================================
# §3 The manifest
# ============================================================================================
@dataclass(frozen=True)
class ArchivedFile:
    """One file of the archive: its name (§3.2), plaintext size, whether it is sealed, and the
    suite hash of each chunk as stored in the archive (§4)."""

    name: str
    size: int
    sealed: bool
    chunks: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "sealed": self.sealed,
            "chunks": [_b64(c) for c in self.chunks],
        }


@dataclass(frozen=True)
class Manifest:
    """The signed description of an archive (docs/backup.md §3).

    ``body`` holds the members other than ``files`` exactly as written (vault, made_by, key,
    audit, …): the library that builds a backup decides their content, this module checks
    their shape only where the format depends on it."""

    id: str
    hash: str
    suite: SuiteName
    platform_key_id: str
    wrapped_key: bytes
    body: Mapping[str, Any]
    files: tuple[ArchivedFile, ...]

    @property
    def raw_id(self) -> bytes:
        return bytes.fromhex(self.id)

    @property
    def made_by_key_id(self) -> str:
        return str(self.body["made_by"]["key_id"])

    def to_json(self) -> dict[str, Any]:
        return {**self.body, "files": [f.to_json() for f in self.files]}

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    def file(self, name: str) -> ArchivedFile | None:
        return next((f for f in self.files if f.name == name), None)


def _members(obj: object, where: str, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != set(keys):
        raise BackupInvalid(f"backup manifest: {where} must have exactly {', '.join(keys)}")
    return obj


def _parse_manifest(data: bytes) -> Manifest:
    try:
        doc = loads_strict(data)
    except ValueError:
        raise BackupInvalid("backup manifest: not canonical JSON") from None
    if not isinstance(doc, dict) or set(doc) != _ALL_KEYS:
        raise BackupInvalid(f"backup manifest: must have exactly {', '.join(sorted(_ALL_KEYS))}")
    if canonical_json(doc) != data:
        raise BackupInvalid("backup manifest: not in canonical form (RFC 8785)")
    if doc["format"] != FORMAT:
        raise BackupInvalid(f"backup manifest: format must be {FORMAT!r}")
    if not isinstance(doc["id"], str) or not _HEX32.match(doc["id"]):
        raise BackupInvalid("backup manifest: id must be 32 lower-case hex digits")
    vault = _members(doc["vault"], "vault", ("id", "suite", "policy", "platform_key_id", "records"))
    key = _members(doc["key"], "key", ("wrapped",))
    made_by = _members(doc["made_by"], "made_by", ("id", "key_id", "role"))
    _members(doc["audit"], "audit", ("origin", "key_id", "path", "size", "entry", "checkpoint"))
    try:
        suite = SuiteName(vault["suite"])
    except ValueError:
        raise BackupInvalid("backup manifest: vault.suite is not a suite") from None
    if doc["hash"] != HASH_FOR_SUITE[suite]:
        raise BackupInvalid("backup manifest: hash must be the vault suite's hash")
    if not all(isinstance(made_by[k], str) for k in made_by) or not isinstance(
        vault["platform_key_id"], str
    ):
        raise BackupInvalid("backup manifest: made_by and vault.platform_key_id must be text")
    files: list[ArchivedFile] = []
    if not isinstance(doc["files"], list) or not doc["files"]:
        raise BackupInvalid("backup manifest: files must be a non-empty array")
    for i, item in enumerate(doc["files"]):
        f = _members(item, f"files[{i}]", ("name", "size", "sealed", "chunks"))
        name, size, sealed, chunks = f["name"], f["size"], f["sealed"], f["chunks"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise BackupInvalid(f"backup manifest: files[{i}].name is not an archive file name")
        if any(x.name == name for x in files):
            raise BackupInvalid(f"backup manifest: {name} is listed twice")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise BackupInvalid(f"backup manifest: files[{i}].size must be a byte count")
        if sealed is not name.startswith("vault/"):
            raise BackupInvalid(f"backup manifest: {name}: only the vault's files are sealed")
        if not isinstance(chunks, list) or len(chunks) != -(-size // CHUNK):
            raise BackupInvalid(f"backup manifest: {name}: chunk count does not match its size")
        files.append(
            ArchivedFile(name, size, sealed, tuple(_unb64(c, f"files[{i}].chunks") for c in chunks))
        )
    return Manifest(
        id=doc["id"],
        hash=doc["hash"],
        suite=suite,
        platform_key_id=vault["platform_key_id"],
        wrapped_key=_unb64(key["wrapped"], "key.wrapped"),
        body={k: doc[k] for k in _MANIFEST_KEYS},
        files=tuple(files),
    )


# ============================================================================================
# §2 Framing, §4 chunks, §5 the signature — writing
# ============================================================================================
def _frame(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack(">I", len(data)) + data


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            yield block


def new_archive_key(suite: CryptoSuite) -> bytes:
    """A fresh archive key ``K_a`` (§4), from the suite's CSPRNG."""
    return suite.random(suite.key_len)


def write_archive(
    out: IO[bytes],
    *,
    archive_id: str,
    key: bytes,
    platform: PublicKeyInfo,
    body: Mapping[str, Any],
    files: Sequence[tuple[str, Path]],
    signer: Identity,
) -> Manifest:
    """Stream ``files`` (name, path) into ``out`` as an archive (§2–§5) and return its manifest.

    Vault files are sealed chunk by chunk under ``key`` (``K_a``); the key is wrapped to the
    platform's KEM public key, so only the platform key opens the archive; the manifest (with
    every chunk's digest) is signed by ``signer``."""
    suite = get_suite(platform.suite)
    h = HASH_FOR_SUITE[platform.suite]
    raw_id = bytes.fromhex(archive_id)
    wrapper = SecretWrapper(suite, key)
    out.write(MAGIC)
    listed: list[ArchivedFile] = []
    for index, (name, path) in enumerate(files):
        sealed = name.startswith("vault/")
        digests: list[bytes] = []
        size = 0
        for n, block in enumerate(_chunks(path)):
            size += len(block)
            stored = wrapper.wrap(block, _chunk_aad(raw_id, index, n)) if sealed else block
            digests.append(suite.digest(stored))
            out.write(_frame(T_CHUNK, stored))
        listed.append(ArchivedFile(name, size, sealed, tuple(digests)))
    wrapped = suite.wrap(platform.kem, key, INFO_KEY, _key_aad(raw_id, platform.key_id))
    full = {
        **body,
        "format": FORMAT,
        "id": archive_id,
        "hash": h,
        "key": {"wrapped": _b64(wrapped)},
    }
    manifest = _parse_manifest(canonical_json({**full, "files": [f.to_json() for f in listed]}))
    data = manifest.to_bytes()
    out.write(_frame(T_MANIFEST, data))
    sig = {
        "alg": signer.suite.sig_name,
        "key_id": signer.key_id,
        "value": _b64(signer.sign(L_MANIFEST + data)),
    }
    out.write(_frame(T_SIGNATURE, canonical_json(sig)))
    return manifest


# ============================================================================================
# Reading: §2 framing, §5 the signature, §4 decrypting
# ============================================================================================
def _frames(
    f: IO[bytes], what: str, *, skip_chunks: bool = False
) -> Iterator[tuple[int, bytes, int, bytes]]:
    """(offset, kind, length, data) of every frame after the magic line; refuses a cut frame.
    With ``skip_chunks`` a chunk's data is seeked over (returned empty)."""
    if f.read(len(MAGIC)) != MAGIC:
        raise BackupInvalid(f"{what}: not a {FORMAT} archive (no version marker)")
    end = f.seek(0, os.SEEK_END)
    offset = f.seek(len(MAGIC))
    while head := f.read(5):
        if len(head) != 5:
            raise BackupInvalid(
                f"{what}: truncated at byte {offset} (a cut frame header)", hint=_CUT
            )
        kind, (n,) = head[:1], struct.unpack(">I", head[1:])
        limit = {T_CHUNK: MAX_FRAME, T_MANIFEST: MAX_MANIFEST, T_SIGNATURE: MAX_SIGNATURE}.get(kind)
        if limit is None:
            raise BackupInvalid(f"{what}: unknown frame type at byte {offset}")
        if n > limit:
            raise BackupInvalid(f"{what}: frame at byte {offset} is larger than allowed")
        if offset + 5 + n > end:
            raise BackupInvalid(
                f"{what}: truncated at byte {offset} (a frame of {n} bytes is cut short)",
                hint=_CUT,
            )
        if skip_chunks and kind == T_CHUNK:
            f.seek(n, os.SEEK_CUR)
            data = b""
        else:
            data = f.read(n)
        yield offset, kind, n, data
        offset += 5 + n


def _check_signature(
    manifest_bytes: bytes, sig_bytes: bytes, keys: Mapping[str, PublicKeyInfo], what: str
) -> PublicKeyInfo:
    try:
        sig = loads_strict(sig_bytes)
    except ValueError:
        raise IntegrityError(f"{what}: the archive's signature is not valid") from None
    if (
        not isinstance(sig, dict)
        or set(sig) != {"alg", "key_id", "value"}
        or canonical_json(sig) != sig_bytes
        or not all(isinstance(v, str) for v in sig.values())
    ):
        raise IntegrityError(f"{what}: the archive's signature is not valid")
    info = keys.get(sig["key_id"])
    if info is None:
        raise BackupInvalid(
            f"{what}: signed by {sig['key_id']}, which is not a system administrator of this "
            "keyring",
            hint="restore with the keyring (trust store and roster) of the platform that made it",
        )
    suite = get_suite(info.suite)
    if sig["alg"] != suite.sig_name:
        raise IntegrityError(f"{what}: the archive's signature is not valid")
    try:
        value = b64decode(sig["value"])  # canonical base64 only (docs/encoding.md)
    except ValueError:
        raise IntegrityError(f"{what}: the archive's signature is not valid") from None
    try:
        suite.verify(info.sig, L_MANIFEST + manifest_bytes, value)
    except IntegrityError:
        raise IntegrityError(f"{what}: the archive's signature is not valid", hint=_CUT) from None
    return info


@dataclass(frozen=True)
class Archive:
    """A checked archive: its manifest, who signed it, and where each chunk lies in the file."""

    path: Path
    manifest: Manifest
    signer: PublicKeyInfo
    chunks: tuple[tuple[int, int], ...]  # (offset of the data, length) per chunk, in order


def _layout(path: Path, what: str) -> tuple[list[tuple[int, int]], bytes, bytes]:
    spans: list[tuple[int, int]] = []
    manifest_bytes = sig_bytes = None
    with path.open("rb") as f:
        for offset, kind, n, data in _frames(f, what, skip_chunks=True):
            if kind == T_CHUNK and manifest_bytes is None:
                spans.append((offset + 5, n))
            elif kind == T_MANIFEST and manifest_bytes is None:
                manifest_bytes = data
            elif kind == T_SIGNATURE and manifest_bytes is not None and sig_bytes is None:
                sig_bytes = data
            else:
                raise BackupInvalid(f"{what}: frame at byte {offset} is out of place")
    if manifest_bytes is None or sig_bytes is None:
        raise BackupInvalid(
            f"{what}: truncated (no {'manifest' if manifest_bytes is None else 'signature'})",
            hint=_CUT,
        )
    return spans, manifest_bytes, sig_bytes


def read_archive(path: Path, signers: Mapping[str, PublicKeyInfo]) -> Archive:
    """Check the whole archive at ``path`` without decrypting it (docs/backup.md §6 steps
    1–3): framing to the last byte, the signature by one of ``signers`` (key id → public key),
    the manifest, and every stored chunk against the digest the manifest lists for it."""
    what = str(path)
    spans, manifest_bytes, sig_bytes = _layout(path, what)
    signer = _check_signature(manifest_bytes, sig_bytes, signers, what)
    manifest = _parse_manifest(manifest_bytes)
    expected = [c for f in manifest.files for c in f.chunks]
    if len(spans) != len(expected):
        raise IntegrityError(f"{what}: the archive's chunks do not match its manifest")
    archive = Archive(path, manifest, signer, tuple(spans))
    for _ in _stored_chunks(archive):
        pass
    return archive


def _stored_chunks(archive: Archive) -> Iterator[tuple[int, int, bytes]]:
    """(file index, chunk index, stored bytes) of every chunk, each checked against the
    manifest's digest as it is read (the file may have changed since it was checked)."""
    suite = get_suite(archive.manifest.suite)
    spans = iter(archive.chunks)
    with archive.path.open("rb") as f:
        for fi, af in enumerate(archive.manifest.files):
            for ci, want in enumerate(af.chunks):
                offset, n = next(spans)
                f.seek(offset)
                data = f.read(n)
                if len(data) != n or not secrets.compare_digest(suite.digest(data), want):
                    raise IntegrityError(
                        f"{archive.path}: the archive's chunks do not match its manifest"
                    )
                yield fi, ci, data


def extract_files(archive: Archive, platform: Identity | None, into: Path) -> dict[str, Path]:
    """Write every file of ``archive`` under ``into`` (a private directory the caller made),
    opening the sealed ones with the archive key unwrapped by ``platform`` (§4, §6 step 5).
    Every chunk is checked again; each file's size must be the manifest's. ``platform`` may be
    None only to extract the clear files (the audit log)."""
    m = archive.manifest
    wrapper: SecretWrapper | None = None
    if platform is not None:
        if platform.key_id != m.platform_key_id:
            raise BackupInvalid(
                f"{archive.path}: the archive is sealed to {m.platform_key_id}, "
                f"not to {platform.key_id}"
            )
        key = platform.unwrap(m.wrapped_key, INFO_KEY, _key_aad(m.raw_id, m.platform_key_id))
        wrapper = SecretWrapper(get_suite(m.suite), key)
    out: dict[str, Path] = {}
    handles: dict[int, IO[bytes]] = {}
    try:
        for fi, af in enumerate(m.files):
            if af.sealed and wrapper is None:
                continue
            target = into / af.name
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            handles[fi] = os.fdopen(fd, "wb")
            out[af.name] = target
        for fi, ci, data in _stored_chunks(archive):
            h = handles.get(fi)
            if h is None:
                continue
            af = m.files[fi]
            h.write(
                wrapper.unwrap(data, _chunk_aad(m.raw_id, fi, ci))
                if af.sealed and wrapper
                else data
            )
    finally:
        for h in handles.values():
            h.flush()
            os.fsync(h.fileno())
            h.close()
    for name, target in out.items():
        listed = m.file(name)
        if listed is None or target.stat().st_size != listed.size:
            raise IntegrityError(f"{archive.path}: {name} does not have its manifest's size")
    return out
