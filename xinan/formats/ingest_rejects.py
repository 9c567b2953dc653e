"""The platform's ingest receipt and rejects report ``xinan-ingest-rejects/2``
(docs/ingest-rejects.md; version 1 is still verified).

What the platform returns to a provider after ``vault ingest``: which records of the package it
refused, by row (the record's 1-based place in the package), record id, field and reason, with
the counts that reconcile (stored + rejected = records in the package), signed by the platform
key so that the provider can rely on it. It holds no value of any record: the provider has its
own data; the report names where and why.

JSON Lines, UTF-8: one header line, one line per rejected record, one trailer line carrying
the digest of every byte before it, the digest of the package's bytes (version 2: the report is
the platform's receipt for exactly those bytes, CONTROLS.md 16) and the platform's signature.
Written as a stream (a
package of 10 million bad rows does not sit in memory) through :func:`xinan.fileio.atomic_writer`.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from xinan._codec import b64decode, b64encode, compact_json, loads_strict
from xinan.crypto import get_suite
from xinan.crypto.base import CryptoSuite, Hasher, SuiteName
from xinan.errors import IntegrityError, KeyringError, VerificationError

FORMAT = "xinan-ingest-rejects/2"
FORMAT_V1 = "xinan-ingest-rejects/1"  # verified still (no package digest); never written
_LABEL = FORMAT.encode("ascii") + b"\x00"
_HEADER_KEYS = (
    "format",
    "package",
    "vault",
    "policy",
    "kind",
    "sender",
    "platform",
    "suite",
    "created",
)
_COUNT_KEYS = ("records", "stored", "rejected")
MAX_LINE = 1 << 16


def _message(digest: bytes, counts: dict[str, int], package_digest: str | None) -> bytes:
    """What the platform signs: the label, the digest of every line before the trailer, and
    the counts (version 2: and the package's digest) as compact JSON in a fixed order."""
    signed: dict[str, Any] = {k: counts[k] for k in _COUNT_KEYS}
    if package_digest is None:  # version 1
        return FORMAT_V1.encode("ascii") + b"\x00" + digest + compact_json(signed)
    return _LABEL + digest + compact_json({**signed, "package_digest": package_digest})


def package_digest(suite: CryptoSuite, data: bytes) -> str:
    """How a receipt names a package's bytes: ``<hash>:<hex>``, the suite's hash (SM3 in gm),
    e.g. ``sha256:…`` — what ``sha256sum`` (or an SM3 tool) prints for the file."""
    h = suite.hasher()
    h.update(data)
    return f"{suite.hash_name}:{h.finalize().hex()}"


class RejectsWriter:
    """Write a report as records are decided: :meth:`reject` per refused record, then
    :meth:`finish` with the counts (which must reconcile) and the platform's signature."""

    def __init__(
        self,
        out: IO[bytes],
        *,
        suite: CryptoSuite,
        signer: Any,
        package: str,
        vault: str,
        policy: str,
        kind: str,
        sender: str,
        created: str,
    ) -> None:
        self.out = out
        self.suite = suite
        self.signer = signer
        self.hasher: Hasher = suite.hasher()
        self.rejected = 0
        head = {
            "format": FORMAT,
            "package": package,
            "vault": vault,
            "policy": policy,
            "kind": kind,
            "sender": sender,
            "platform": signer.key_id,
            "suite": suite.name.value,
            "created": created,
        }
        self._write(compact_json(head) + b"\n")

    def _write(self, line: bytes) -> None:
        self.hasher.update(line)
        self.out.write(line)

    def reject(self, row: int, record_id: str, field: str | None, reason: str) -> None:
        """One refused record: ``row`` is its 1-based place in the package."""
        line = {"row": row, "record_id": record_id, "field": field, "reason": reason}
        self._write(compact_json(line) + b"\n")
        self.rejected += 1

    def finish(self, *, records: int, stored: int, package_digest: str) -> dict[str, int]:
        """Reconcile, sign and write the trailer. ``package_digest``: the received package's
        bytes as :func:`package_digest` names them."""
        counts = {"records": records, "stored": stored, "rejected": self.rejected}
        if stored + self.rejected != records or min(counts.values()) < 0:
            raise IntegrityError(
                f"ingest counts do not reconcile: {stored} stored + {self.rejected} rejected "
                f"≠ {records} records in the package"
            )
        digest = self.hasher.finalize()
        sig = self.suite.sign(self.signer.signing, _message(digest, counts, package_digest))
        trailer = {
            **counts,
            "package_digest": package_digest,
            "digest": b64encode(digest),
            "sig": b64encode(sig),
        }
        self.out.write(compact_json(trailer) + b"\n")
        return counts


class HashingReader(io.BufferedIOBase):
    """A package stream that hashes every byte read through it, so the receipt's
    ``package_digest`` is of the bytes the platform verified and ingested, in the same pass
    (no second read of the file, nothing that could change between two reads)."""

    def __init__(self, raw: IO[bytes], suite: CryptoSuite) -> None:
        super().__init__()
        self._raw = raw
        self._suite = suite
        self._h: Hasher = suite.hasher()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._h.update(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        data = self._raw.readline(-1 if size is None else size)
        self._h.update(data)
        return data

    def digest_of_the_rest(self) -> str:
        """Read what is left (normally nothing: the package's reader reads to its end) and
        name the whole as :func:`package_digest` does."""
        while chunk := self._raw.read(1 << 20):
            self._h.update(chunk)
        return f"{self._suite.hash_name}:{self._h.finalize().hex()}"


@dataclass(frozen=True)
class RejectsReport:
    """A verified report: its header, the rejected records and the reconciled counts."""

    header: dict[str, Any]
    rejects: list[dict[str, Any]]
    counts: dict[str, int]
    package_digest: str | None = None  # None in a version-1 report

    def check_package(self, data: bytes) -> None:
        """The receipt is for exactly these package bytes (docs/ingest-rejects.md §6): raises
        IntegrityError otherwise, and VerificationError for a version-1 report (no digest)."""
        if self.package_digest is None:
            raise _bad(f"a {FORMAT_V1} report names the package by its id only")
        suite = get_suite(SuiteName(self.header["suite"]))
        if not secrets.compare_digest(package_digest(suite, data), self.package_digest):
            raise IntegrityError(
                f"the receipt for package {self.header['package']} is for other bytes",
                hint="this is not the package the platform received; ask the provider",
            )


def _bad(what: str) -> VerificationError:
    return VerificationError(
        f"ingest rejects report: {what}",
        hint=f"not an intact {FORMAT} report from the platform; ask the platform for it again",
    )


def verify_rejects(data: bytes, *, trust: Callable[[str], Any]) -> RejectsReport:
    """Verify a report (docs/ingest-rejects.md §3) against the platform key that ``trust``
    returns for the header's ``platform`` key id, and return it. Raises VerificationError for a
    malformed report or an unknown key and IntegrityError for a bad digest or signature."""
    if not data.endswith(b"\n"):
        raise _bad("truncated (no final newline)")
    lines = data[:-1].split(b"\n")
    if len(lines) < 2:
        raise _bad("no header or no trailer")
    try:
        parsed = [loads_strict(x) for x in lines]
    except ValueError:
        raise _bad("a line is not JSON") from None
    head, body, tail = parsed[0], parsed[1:-1], parsed[-1]
    if (
        not isinstance(head, dict)
        or head.get("format") not in (FORMAT, FORMAT_V1)
        or tuple(head) != _HEADER_KEYS
        or not all(isinstance(v, str) for v in head.values())
    ):
        raise _bad(f"the header is not a {FORMAT} header")
    v1 = head["format"] == FORMAT_V1
    members = (
        (*_COUNT_KEYS, "digest", "sig") if v1 else (*_COUNT_KEYS, "package_digest", "digest", "sig")
    )
    if not isinstance(tail, dict) or tuple(tail) != members:
        raise _bad("the trailer is malformed")
    pkg_digest = None if v1 else tail["package_digest"]
    if not v1 and (not isinstance(pkg_digest, str) or ":" not in pkg_digest):
        raise _bad("the package digest is malformed")
    counts = {k: tail[k] for k in _COUNT_KEYS}
    if not all(type(v) is int and v >= 0 for v in counts.values()):
        raise _bad("the counts are not whole numbers")
    for i, r in enumerate(body):
        if (
            not isinstance(r, dict)
            or tuple(r) != ("row", "record_id", "field", "reason")
            or type(r["row"]) is not int
            or not isinstance(r["record_id"], str)
            or not (r["field"] is None or isinstance(r["field"], str))
            or not isinstance(r["reason"], str)
        ):
            raise _bad(f"line {i + 2} is not a rejected record")
    if (
        counts["rejected"] != len(body)
        or counts["stored"] + counts["rejected"] != counts["records"]
    ):
        raise _bad("the counts do not reconcile")
    try:
        suite = get_suite(SuiteName(head["suite"]))
        digest = b64decode(tail["digest"])
        sig = b64decode(tail["sig"])
    except (ValueError, KeyError):
        raise _bad("bad suite or base64") from None
    if pkg_digest is not None and not pkg_digest.startswith(f"{suite.hash_name}:"):
        raise _bad(f"the package digest is not of the suite's hash ({suite.hash_name})")
    try:
        key = trust(head["platform"])
    except KeyringError:
        key = None
    if key is None or getattr(key, "suite", None) != suite.name:
        raise _bad(f"platform key {head['platform']} is not trusted (or not of suite {suite.name})")
    h = suite.hasher()
    h.update(data[: len(data) - len(lines[-1]) - 1])
    if not secrets.compare_digest(h.finalize(), digest):
        raise IntegrityError("ingest rejects report: digest mismatch (the report was changed)")
    suite.verify(key.sig, _message(digest, counts, pkg_digest), sig)
    return RejectsReport(head, body, counts, pkg_digest)
