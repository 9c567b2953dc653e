"""The subject access report: who queried or received one data subject's data, from the log.

征信业管理条例 第十八条 (every query of a natural person is recorded with querent, time, records
and purpose) and the plan's authorised-query mechanism (二(六)3) give the data subject the right
to that list. This module owns turning the subject's clear identifier into its keyed pseudonym
(at once; the clear value is never kept, logged or printed), selecting the audit entries that
name that pseudonym, and the audit event that records the report itself.

Does not own: the log (:mod:`xinan.audit`: reading here is display-grade; integrity is
``xinan audit verify``'s job), pseudonyms (:func:`xinan.masking.pseudonym`), the session and
its role check (``report.subject``: platform or audit-admin, :mod:`xinan.access`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xinan.audit.entry import NAMING_ENTRIES
from xinan.audit.log import read_entries
from xinan.errors import UsageError
from xinan.keys import Keyring
from xinan.masking import PSEUDONYM_RE as _PSEUDONYM_RE
from xinan.masking import subject_pseudonym

__all__ = [
    "ACCESS_TYPES",
    "REPORT_EVENT_TYPE",
    "REPORT_PURPOSE",
    "ReportEntry",
    "SubjectReport",
    "key_names",
    "report_event",
    "subject_pseudonym",
    "subject_report",
]

# Event types in which someone queried or received the subject's data (the heart of the
# report); every other entry that names the subject (ingest, dispute, repair, destroy …) is
# listed too, marked as handling, so the subject sees the whole trail.
ACCESS_TYPES = frozenset({"grant", "share", "open", "disclose", "verify", "denied"})
# The audit format's types are a closed set (docs/audit-log.md §2.2) with no "report" yet: the
# report is logged as an `open` of the log for this purpose (proposed: a `report` type).
REPORT_EVENT_TYPE = "open"
REPORT_PURPOSE = "subject-access-report"
REPORT_REF = "report:subject"


@dataclass(frozen=True)
class ReportEntry:
    """One audit entry naming the subject: when, who, what, why, outcome."""

    seq: int
    time: str
    type: str
    outcome: str
    actor_key_id: str
    actor_role: str
    actor_name: str | None  # the key's name in the trust store, if known
    objects: Mapping[str, Any]
    why: Mapping[str, str]

    @property
    def access(self) -> bool:
        """True if someone queried or received the data (vs. handling it, or an earlier
        subject access report, which reads only the log)."""
        return self.type in ACCESS_TYPES and self.why.get("purpose") != REPORT_PURPOSE

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "type": self.type,
            "access": self.access,
            "outcome": self.outcome,
            "actor": {
                "key_id": self.actor_key_id,
                "role": self.actor_role,
                "name": self.actor_name,
            },
            "objects": dict(self.objects),
            "why": dict(self.why),
        }

    def line(self) -> str:
        who = f"{self.actor_name or '?'} ({self.actor_key_id}, {self.actor_role})"
        what = [self.type]
        o = self.objects
        if o.get("record_ids"):
            ids = list(o["record_ids"])
            what.append(
                "records " + ", ".join(ids[:5]) + (f" … (+{len(ids) - 5})" if len(ids) > 5 else "")
            )
        if o.get("package"):
            what.append(f"package {o['package']}")
        if o.get("ref"):
            what.append(str(o["ref"]))
        why = " ".join(f"{k}={v}" for k, v in sorted(self.why.items()))
        return f"{self.seq:>7}  {self.time}  {who}  {'; '.join(what)}  {self.outcome}" + (
            f"  {why}" if why else ""
        )


@dataclass(frozen=True)
class SubjectReport:
    """Every entry of one log that names one subject pseudonym, in log order."""

    subject: str
    log: str
    scanned: int  # entries read
    last_seq: int | None  # the last entry read: the report covers entries up to it
    entries: tuple[ReportEntry, ...]

    @property
    def accesses(self) -> tuple[ReportEntry, ...]:
        return tuple(e for e in self.entries if e.access)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "log": self.log,
            "scanned": self.scanned,
            "last_seq": self.last_seq,
            "accesses": len(self.accesses),
            "entries": [e.to_json() for e in self.entries],
        }

    def text(self) -> str:
        head = (
            f"subject {self.subject}: {len(self.accesses)} queries or receipts, "
            f"{len(self.entries)} entries in all, of {self.scanned} in {self.log}"
            + (f" (up to entry {self.last_seq})" if self.last_seq is not None else "")
        )
        lines = [head]
        if self.accesses:
            lines.append("who queried or received the data:")
            lines += ["  " + e.line() for e in self.accesses]
        handling = [e for e in self.entries if not e.access]
        if handling:
            lines.append("other handling of the data:")
            lines += ["  " + e.line() for e in handling]
        lines.append("integrity of the log: `xinan audit verify`")
        return "\n".join(lines)


def key_names(keyring: Keyring, *logs: str | Path) -> dict[str, str]:
    """Key id → the name a report shows: the holder's registered display name where one of
    ``logs`` records it (``key.add`` / ``key.name`` entries with ``objects.name``, written by
    ``xinan keys add FILE --name`` and ``xinan keys name``; the latest wins), else the key's
    id in the keyring's trust store and own keys."""
    names = {e.key_id: e.id for e in keyring.list()}
    for log in logs:
        for _, e in read_entries(Path(log)):
            objects = e["objects"]
            if e["type"] in NAMING_ENTRIES and e["outcome"] == "success" and "name" in objects:
                for k in objects.get("key_ids", ()):
                    names[str(k)] = str(objects["name"])
    return names


def pseudonym_key_ids(log: str | Path) -> set[str]:
    """The key ids under which the subjects of ``log`` are pseudonymised (``ps1.<key id>.…``)."""
    found: set[str] = set()
    for _, e in read_entries(Path(log)):
        for s in e.get("subjects", ()):
            parts = str(s).split(".")
            if len(parts) == 3 and parts[0] == "ps1":
                found.add(parts[1])
    return found


def subject_report(
    log: str | Path, subject: str, *, names: Mapping[str, str] | None = None
) -> SubjectReport:
    """The entries of ``log`` whose ``subjects`` contain ``subject`` (a keyed pseudonym)."""
    if not _PSEUDONYM_RE.match(subject):
        raise UsageError("a subject report takes a keyed pseudonym ps1.…, never a clear ID")
    names = names or {}
    hits: list[ReportEntry] = []
    scanned = 0
    last: int | None = None
    for _, e in read_entries(log):
        scanned += 1
        last = e["seq"]
        if subject in e["subjects"]:
            hits.append(_entry(e, names))
    return SubjectReport(subject, str(log), scanned, last, tuple(hits))


def _entry(e: Mapping[str, Any], names: Mapping[str, str]) -> ReportEntry:
    actor = e["actor"]
    return ReportEntry(
        seq=e["seq"],
        time=e["time"],
        type=e["type"],
        outcome=e["outcome"],
        actor_key_id=actor["key_id"],
        actor_role=actor["role"],
        actor_name=names.get(actor["key_id"]),
        objects=e["objects"],
        why=e["why"],
    )


def report_event(report: SubjectReport) -> dict[str, Any]:
    """``Session.record`` keyword arguments for the report itself (before it is shown)."""
    counts = {"entries": len(report.entries), "accesses": len(report.accesses)}
    if report.last_seq is not None:
        counts["last_seq"] = report.last_seq
    return {
        "type_": REPORT_EVENT_TYPE,
        "objects": {"ref": REPORT_REF, "counts": counts},
        "why": {"purpose": REPORT_PURPOSE},
        "subjects": [report.subject],
    }
