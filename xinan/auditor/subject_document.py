"""The citizen's access report: a signed document a data subject can read and check.

Owns the model of ``xinan report subject ID -o 报告.html [--pdf 报告.pdf]`` (docs/report.md §6):
from the entries of the platform's audit log that name the subject's keyed pseudonym
(:mod:`xinan.auditor.subject_report`), each time the data was granted, shared or released to
an institution — in Beijing time, the institution by its name in the trust store, the
purpose, the fields and the consent (its reference and validity, from the vault) each use
rested on — and the other handling of the data (collection, objections, repair,
destruction). Then the page (:mod:`xinan.reports.render`), the PDF and the platform's
detached signature over each file's exact bytes (:mod:`xinan.reports.signature`).

It names no other person: entries are those of this subject only, the subjects and record ids
of an entry are never shown, and the platform's own staff appear as "the platform", never by
key name. The subject's identifier appears only masked (first character and last four).

征信业管理条例 第十八条 and the plan's 二(六)3 give the subject the right to this list; making
it reads the log and the subject's consents, so it is recorded in the log (an ``open`` with
purpose ``subject-access-report``) before any file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from xinan.access import Session
from xinan.auditor.subject_report import (
    ReportEntry,
    SubjectReport,
    report_event,
    subject_report,
)
from xinan.errors import XinanError
from xinan.fileio import write_bytes_atomic
from xinan.formats.grant import Consent
from xinan.keys import Identity, Keyring
from xinan.reports.render import BEIJING

__all__ = [
    "FORMAT",
    "SubjectDocument",
    "WrittenDocument",
    "build_subject_document",
    "masked_identifier",
    "write_subject_document",
]

FORMAT = "xinan-subject-report/1"
_STAFF_ROLES = frozenset({"platform", "sys-admin", "sec-admin", "audit-admin", "auditor"})
# Entries in which an institution was given the data (or refused it), as opposed to handling.
_RECEIPT_TYPES = frozenset({"grant", "share", "open", "disclose", "denied"})


def masked_identifier(identifier: str) -> str:
    """The first character and the last four, the rest as ``*`` (never the whole number)."""
    v = identifier.strip().upper()
    if len(v) <= 6:
        return "*" * len(v)
    return v[:1] + "*" * (len(v) - 5) + v[-4:]


@dataclass(frozen=True)
class SubjectDocument:
    """The numbers and rows of the citizen's report; ``to_json()`` feeds the page and ``--json``."""

    generated_at: datetime
    masked_id: str
    subject: str
    platform_id: str
    platform_key_id: str
    log_origin: str
    last_seq: int | None
    receipts: tuple[dict[str, Any], ...]
    handling: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        institutions = sorted({r["institution"] for r in self.receipts if r["institution"]})
        return {
            "format": FORMAT,
            "generated_at": self.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "subject": {"masked_id": self.masked_id, "pseudonym": self.subject},
            "platform": {"id": self.platform_id, "key_id": self.platform_key_id},
            "log": {"origin": self.log_origin, "last_seq": self.last_seq},
            "totals": {
                "receipts": len(self.receipts),
                "institutions": len(institutions),
                "handling": len(self.handling),
                "denied": sum(1 for r in self.receipts if r["outcome"] == "denied"),
            },
            "institutions": institutions,
            "receipts": list(self.receipts),
            "handling": list(self.handling),
        }


def _consent_json(c: Consent | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "id": c.id,
        "purpose": c.purpose,
        "fields": list(c.fields),
        "valid_until": c.valid_until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # valid_until is exclusive (docs/grant.md): the last day it holds, in Beijing time
        "last_day": (c.valid_until - timedelta(seconds=1)).astimezone(BEIJING).date().isoformat(),
        "ref": c.ref,
        "revoked": c.revoked,
    }


def _receipt(
    e: ReportEntry,
    consent: Consent | None,
    names: Mapping[str, str],
    roles: Mapping[str, str],
) -> dict[str, Any]:
    keys = [k for k in e.objects.get("key_ids", ()) if roles.get(k) == "querent"]
    if e.type == "disclose":
        institution, key_id = "公示", None
    elif keys:
        key_id = keys[0]
        institution = names.get(key_id, key_id)
    elif e.actor_role in _STAFF_ROLES:
        institution, key_id = "", None  # the platform itself
    else:
        key_id = e.actor_key_id
        institution = e.actor_name or e.actor_key_id
    purpose = e.why.get("purpose", "")
    action = e.type
    if e.type == "share" and purpose == "release":
        action = "release"
        purpose = consent.purpose if consent is not None else ""
    counts = e.objects.get("counts", {})
    return {
        "seq": e.seq,
        "time": e.time,
        "action": action,
        "outcome": e.outcome,
        "institution": institution,
        "institution_key_id": key_id,
        "purpose": purpose,
        "fields": list(consent.fields) if consent is not None else None,
        "field_count": counts.get("fields"),
        "records": counts.get("records"),
        "consent": _consent_json(consent),
    }


def _handling(e: ReportEntry, names: Mapping[str, str]) -> dict[str, Any]:
    by = "" if e.actor_role in _STAFF_ROLES else (e.actor_name or e.actor_key_id)
    return {
        "seq": e.seq,
        "time": e.time,
        "action": e.type,
        "outcome": e.outcome,
        "by": by,
        "purpose": e.why.get("purpose", ""),
        "consent": e.why.get("consent"),
    }


def build_subject_document(
    rep: SubjectReport,
    *,
    masked_id: str,
    now: datetime,
    names: Mapping[str, str],
    roles: Mapping[str, str],
    consent: Callable[[str], Consent | None],
    platform_id: str,
    platform_key_id: str,
    log_origin: str,
) -> SubjectDocument:
    """The document for one subject's report. ``consent(id)`` returns the vault's consent, or
    None; a consent of another subject is never used (it would name another person's data)."""
    cache: dict[str, Consent | None] = {}

    def lookup(cid: str | None) -> Consent | None:
        if not cid:
            return None
        if cid not in cache:
            c = consent(cid)
            cache[cid] = c if c is not None and c.subject == rep.subject else None
        return cache[cid]

    receipts: list[dict[str, Any]] = []
    handling: list[dict[str, Any]] = []
    for e in rep.entries:
        if e.why.get("purpose") == "subject-access-report":
            continue  # earlier copies of this report read only the log
        if e.type in _RECEIPT_TYPES and e.access:
            receipts.append(_receipt(e, lookup(e.why.get("consent")), names, roles))
        else:
            handling.append(_handling(e, names))
    return SubjectDocument(
        generated_at=now,
        masked_id=masked_id,
        subject=rep.subject,
        platform_id=platform_id,
        platform_key_id=platform_key_id,
        log_origin=log_origin,
        last_seq=rep.last_seq,
        receipts=tuple(receipts),
        handling=tuple(handling),
    )


class PlatformLike(Protocol):
    """What the document needs of :class:`xinan.platform.Platform` (an opened vault)."""

    session: Session
    keyring: Keyring
    log_path: Path

    def require(self, operation: str, *, objects: dict[str, Any] | None = None) -> None: ...

    def subject_pseudonym(self, clear_id: str) -> str: ...

    def platform_identity(self) -> Identity: ...

    def now(self) -> datetime: ...

    @property
    def vault(self) -> Any: ...


@dataclass(frozen=True)
class WrittenDocument:
    document: SubjectDocument
    files: tuple[tuple[Path, Path], ...]  # (report file, its .sig)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.document.to_json(),
            "files": [{"file": str(f), "sig": str(s)} for f, s in self.files],
        }


def write_subject_document(
    platform: PlatformLike,
    identifier: str,
    *,
    html: Path | None,
    pdf: Path | None = None,
    lang: str = "zh",
) -> WrittenDocument:
    """Make the subject's signed access report: record it, then write each file and its
    ``.sig`` (docs/report.md §6, §8). ``identifier`` (resident ID or USCC) becomes the vault's
    keyed pseudonym at once; only its masked form is kept."""
    from xinan.auditor.subject_report import key_names
    from xinan.reports.pdf import html_to_pdf
    from xinan.reports.render import render_subject
    from xinan.reports.signature import sign_report

    platform.require("report.subject", objects={"ref": "report:subject"})
    subject = platform.subject_pseudonym(identifier)
    masked = masked_identifier(identifier)
    del identifier
    entries = platform.keyring.list()
    names = key_names(platform.keyring, platform.log_path)
    roles = {e.key_id: e.role for e in entries}
    rep = subject_report(platform.log_path, subject, names=names)
    vault = platform.vault

    def consent(cid: str) -> Consent | None:
        try:
            c: Consent = vault.consent(cid)
        except XinanError:
            return None
        return c

    signer = platform.platform_identity()
    doc = build_subject_document(
        rep,
        masked_id=masked,
        now=platform.now(),
        names=names,
        roles=roles,
        consent=consent,
        platform_id=signer.info.id,
        platform_key_id=signer.info.key_id,
        log_origin=str(vault.config.audit_origin),
    )
    event = report_event(rep)
    consents = {r["consent"]["id"] for r in doc.receipts if r["consent"]}
    event["objects"]["counts"]["consents"] = len(consents)
    platform.session.record(**event)  # durable before any file is written
    model = doc.to_json()
    written: list[tuple[Path, Path]] = []
    page = render_subject(model, lang=lang)
    outputs: list[tuple[Path, bytes]] = []
    if html is not None:
        outputs.append((html, page.encode("utf-8")))
    if pdf is not None:
        outputs.append((pdf, html_to_pdf(render_subject(model, lang=lang, for_pdf=True))))
    for path, data in outputs:
        sig = sign_report(data, name=path.name, signer=signer, now=platform.now())
        write_bytes_atomic(path, data)
        sig_path = path.with_name(path.name + ".sig")
        write_bytes_atomic(sig_path, sig)
        written.append((path, sig_path))
    return WrittenDocument(doc, tuple(written))
