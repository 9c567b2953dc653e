"""Detached signatures over report files: ``xinan-report-sig/1`` (docs/report.md §8).

Owns signing the exact bytes of a report file (the subject's access report, HTML or PDF) with
the platform's key, and verifying such a signature against the trust store. The signature
file is a small JSON document beside the report (``报告.html.sig``):

    {"format": "xinan-report-sig/1", "file": "报告.html", "size": 12345,
     "hash": "sha256", "digest": "<base64>", "signed_at": "2026-12-06T09:30:00Z",
     "signer": {"id": "platform", "key_id": "xk1…", "role": "platform", "suite": "intl"},
     "sig": "<base64>"}

``sig`` signs ``"xinan-report-sig/1\\n"`` followed by the canonical JSON of every other member
(sorted keys, no spaces, UTF-8), so no member can be changed without breaking it. The digest
is the suite's hash (SHA-256, or SM3 in the 国密 suite) of the file's exact bytes: one byte
changed, added or removed, and verification fails.

Verification raises (STYLE.md practice 3): :class:`~xinan.errors.IntegrityError`, opaque, for
a digest or signature that does not hold; a specific error for a signer the trust store does
not know or whose role is not ``platform``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xinan._codec import loads_strict
from xinan.crypto import get_suite
from xinan.errors import IntegrityError, UsageError, VerificationError, XinanError
from xinan.keys import Identity, Keyring, Role

__all__ = ["SIG_FORMAT", "VerifiedReport", "read_pair", "sign_report", "verify_report"]

SIG_FORMAT = "xinan-report-sig/1"
_MEMBERS = {"format", "file", "size", "hash", "digest", "signed_at", "signer", "sig"}
_SIGNER = {"id", "key_id", "role", "suite"}


def _message(doc: dict[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k != "sig"}
    canon = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return SIG_FORMAT.encode() + b"\n" + canon.encode("utf-8")


def _b64(x: bytes) -> str:
    return base64.b64encode(x).decode()


def sign_report(data: bytes, *, name: str, signer: Identity, now: datetime) -> bytes:
    """The ``.sig`` file for a report whose exact bytes are ``data``, signed by ``signer``."""
    suite = signer.suite
    info = signer.info
    doc: dict[str, Any] = {
        "format": SIG_FORMAT,
        "file": Path(name).name,
        "size": len(data),
        "hash": suite.hash_name,
        "digest": _b64(suite.digest(data)),
        "signed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signer": {
            "id": info.id,
            "key_id": info.key_id,
            "role": info.role.value,
            "suite": info.suite.value,
        },
    }
    doc["sig"] = _b64(signer.sign(_message(doc)))
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


@dataclass(frozen=True)
class VerifiedReport:
    """What :func:`verify_report` established."""

    file: str
    size: int
    signer_id: str
    signer_key_id: str
    signed_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "file": self.file,
            "size": self.size,
            "signer": {"id": self.signer_id, "key_id": self.signer_key_id},
            "signed_at": self.signed_at,
        }


def _parse(sig: bytes) -> dict[str, Any]:
    try:
        doc = loads_strict(sig)
    except (ValueError, UnicodeDecodeError):
        raise IntegrityError("report signature: not a xinan-report-sig/1 document") from None
    if not isinstance(doc, dict) or doc.get("format") != SIG_FORMAT:
        raise IntegrityError(f"report signature: format must be {SIG_FORMAT!r}")
    signer = doc.get("signer")
    if (
        set(doc) != _MEMBERS
        or not isinstance(signer, dict)
        or set(signer) != _SIGNER
        or not all(isinstance(signer[k], str) for k in _SIGNER)
        or not all(isinstance(doc[k], str) for k in ("file", "hash", "digest", "signed_at", "sig"))
        or not isinstance(doc["size"], int)
        or isinstance(doc["size"], bool)
    ):
        raise IntegrityError("report signature: malformed")
    return doc


def verify_report(data: bytes, sig: bytes, *, trust: Keyring) -> VerifiedReport:
    """Check that ``sig`` (a ``.sig`` file) signs exactly ``data`` and that its signer is a
    platform key in ``trust``'s trust store. Raises; returns what was verified."""
    doc = _parse(sig)
    s = doc["signer"]
    try:
        info = trust.get_public(s["key_id"])
    except XinanError:
        raise VerificationError(
            f"the report is signed by {s['id']} ({s['key_id']}), a key the trust store does "
            "not hold",
            hint="add the platform's public key: `xinan keys add platform.pub`",
        ) from None
    if info.key_id != s["key_id"] or info.role is not Role.PLATFORM:
        raise VerificationError(
            f"the report is signed by {info.id} ({info.role.value}), not by a platform key",
            hint="a citizen's access report is signed by the credit information platform",
        )
    suite = get_suite(info.suite, what=f"report signer {info.id}")
    try:
        digest = base64.b64decode(doc["digest"], validate=True)
        signature = base64.b64decode(doc["sig"], validate=True)
    except binascii.Error:
        raise IntegrityError("report signature: malformed") from None
    if doc["hash"] != suite.hash_name:
        raise IntegrityError("report signature: wrong hash for the signer's suite")
    suite.verify(info.sig, _message(doc), signature)  # raises IntegrityError
    if len(data) != doc["size"] or suite.digest(data) != digest:
        raise IntegrityError(
            f"the report does not match its signature: it is not the file {doc['file']} the "
            "platform signed (changed, or another file)"
        )
    return VerifiedReport(doc["file"], doc["size"], info.id, info.key_id, doc["signed_at"])


def read_pair(report: Path, sig: Path | None) -> tuple[bytes, bytes]:
    """The report's bytes and its signature's (``<report>.sig`` unless given)."""
    sig_path = sig if sig is not None else report.with_name(report.name + ".sig")
    try:
        return report.read_bytes(), sig_path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"{exc.filename}: cannot read ({exc.strerror})",
            hint="xinan report verify 报告.html --sig 报告.html.sig",
        ) from None
