"""The auditor's report: what the audit logs say, and whether they can be believed.

Owns the model of ``xinan report audit`` (docs/report.md §5): for each log, the result of
:func:`xinan.audit.verify.verify_log` (intact, or every named violation with its entry), its
checkpoints and the signers on the latest one (log key and witnesses); over all logs, entries
per Beijing day and type, per actor, the denials, grants, shares and opens per querent, the
destruction certificates checked against the log, and — for an optional subject pseudonym and
start date — the matching entries each with an inclusion proof that a reader re-checks with
``xinan audit check-proof`` (docs/audit-log.md §10).

Reading the entries is an audited act (GB/T 22239-2019 8.1.4.3; only the audit roles read
them, 8.1.4.2): :meth:`xinan.auditor.service.Auditor.audit_report` checks the role and records
:func:`report_event` in the auditor's log before the model is returned for display.

Does not own: verification itself (:mod:`xinan.audit.verify`), proofs (:mod:`xinan.audit.proof`),
certificates (:mod:`xinan.platform.destruction`), rendering (:mod:`xinan.reports`).
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xinan.audit.checkpoint import Checkpoint
from xinan.audit.entry import NAMING_ENTRIES, parse_entry, parse_time
from xinan.audit.note import NoteVerifier, parse_note
from xinan.audit.proof import prove_inclusions
from xinan.audit.verify import Report, verify_log
from xinan.errors import AuditViolation, XinanError
from xinan.reports.render import BEIJING

__all__ = [
    "FORMAT",
    "REPORT_EVENT_TYPE",
    "AuditReport",
    "LogInput",
    "build_audit_report",
    "report_event",
]

FORMAT = "xinan-audit-report/1"
REPORT_EVENT_TYPE = "audit.report"  # docs/audit-log.md §2.2: audit.<name>
MAX_PROOFS = 500  # proofs are per entry; beyond this the reader asks `xinan audit prove N`
MAX_LISTED = 200  # denials, certificates … listed one by one; counts are always complete


@dataclass(frozen=True)
class LogInput:
    """One log to report on, with the keys its checkpoints must verify under."""

    path: Path
    keys: tuple[NoteVerifier, ...]
    witnesses: tuple[NoteVerifier, ...] = ()
    trusted_checkpoint: bytes | None = None


@dataclass(frozen=True)
class CertificateCheck:
    """A destruction certificate and the outcome of checking it against a log."""

    file: str
    ok: bool
    id: str | None
    seq: int | None
    records: int | None
    message: str


@dataclass
class AuditReport:
    """The numbers of the auditor's report; ``to_json()`` is both the page's input and the
    ``--json`` twin."""

    generated_at: datetime
    logs: list[dict[str, Any]] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    by_day: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    actors: Counter[str] = field(default_factory=Counter)
    actor_roles: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    denials: list[dict[str, Any]] = field(default_factory=list)
    querents: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    destroy_entries: int = 0
    certificates: list[CertificateCheck] = field(default_factory=list)
    query: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(lg["ok"] for lg in self.logs) and all(c.ok for c in self.certificates)

    def first_problem(self) -> dict[str, Any] | None:
        """The first violation of the first failing log (the report's first line)."""
        for lg in self.logs:
            if lg["violations"]:
                v = dict(lg["violations"][0])
                v["log"] = lg["path"]
                return v
        for c in self.certificates:
            if not c.ok:
                return {"violation": "certificate", "log": c.file, "message": c.message}
        return None

    def to_json(self) -> dict[str, Any]:
        entries = sum(self.types.values())
        return {
            "format": FORMAT,
            "generated_at": self.generated_at.isoformat().replace("+00:00", "Z"),
            "ok": self.ok,
            "first_problem": self.first_problem(),
            "totals": {
                "logs": len(self.logs),
                "entries": entries,
                "denied": len(self.denials),
                "grants": sum(c["grant"] for c in self.querents.values()),
                "shares": sum(c["share"] for c in self.querents.values()),
                "opens": sum(c["open"] for c in self.querents.values()),
                "destroy_entries": self.destroy_entries,
                "certificates": len(self.certificates),
                "certificates_ok": sum(1 for c in self.certificates if c.ok),
            },
            "logs": self.logs,
            "types": [{"type": t, "entries": n} for t, n in self.types.most_common()],
            "by_day": [
                {"day": d, "entries": sum(c.values()), "types": dict(c)}
                for d, c in sorted(self.by_day.items())
            ],
            "actors": [
                {
                    "key_id": k,
                    "name": self.names.get(k),
                    "role": self.actor_roles.get(k, ""),
                    "entries": n,
                }
                for k, n in self.actors.most_common()
            ],
            "denials": self.denials[:MAX_LISTED],
            "querents": [
                {
                    "key_id": k,
                    "name": self.names.get(k),
                    "grants": c["grant"],
                    "shares": c["share"],
                    "opens": c["open"],
                }
                for k, c in sorted(self.querents.items())
            ],
            "certificates": [c.__dict__ for c in self.certificates[:MAX_LISTED]],
            "query": self.query,
        }


def _b64(x: bytes) -> str:
    return base64.b64encode(x).decode()


def _signers(note: str | None) -> list[str]:
    """The key names on a signed note's signature lines (log key first, then witnesses)."""
    if not note:
        return []
    _, _, sigs = note.partition("\n\n")
    return [line[2:].split(" ", 1)[0] for line in sigs.splitlines() if line.startswith("— ")]


def _verify(lg: LogInput) -> dict[str, Any]:
    try:
        rep = verify_log(
            lg.path,
            keys=lg.keys,
            witnesses=lg.witnesses,
            trusted_checkpoint=lg.trusted_checkpoint,
        )
        violations: list[AuditViolation] = []
    except AuditViolation as exc:
        rep = exc.report if exc.report is not None else Report(str(lg.path))
        violations = rep.violations or [exc]
    except XinanError as exc:  # no such file, unreadable: the log cannot be believed
        rep = Report(str(lg.path))
        violations = []
        return _log_json(rep, [{"violation": "unreadable", "message": exc.message}])
    return _log_json(rep, [_violation_json(v) for v in violations])


def _violation_json(v: AuditViolation) -> dict[str, Any]:
    out: dict[str, Any] = {"violation": v.kind, "message": v.message}
    for k in ("seq", "first", "last", "line", "size", "count", "offset"):
        if k in v.data:
            out[k] = v.data[k]
    return out


def _log_json(rep: Report, violations: list[dict[str, Any]]) -> dict[str, Any]:
    signers = _signers(rep.latest_checkpoint)
    latest = (
        Checkpoint.parse(parse_note(rep.latest_checkpoint.encode()).text).size
        if rep.latest_checkpoint
        else None
    )
    return {
        "path": rep.path,
        "origin": rep.origin,
        "ok": not violations,
        "size": rep.size,
        "pruned": rep.pruned,
        "root": _b64(rep.root),
        "checkpoints": rep.checkpoints,
        "signatures_checked": rep.signatures_checked,
        "latest_checkpoint_size": latest,
        "latest_checkpoint": rep.latest_checkpoint,
        "signers": signers,
        "witnesses": max(0, len(signers) - 1),
        "trusted_size": rep.trusted_size,
        "violations": violations,
        "unreadable_lines": 0,
    }


def _entries(path: Path) -> tuple[list[tuple[bytes, dict[str, Any]]], int]:
    """Every parseable line of the log (display only: a modified line that no longer parses
    is counted, not shown — the verification above names it)."""
    out: list[tuple[bytes, dict[str, Any]]] = []
    bad = 0
    try:
        f = path.open("rb")
    except OSError:
        return out, 0
    with f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                out.append((raw[:-1], parse_entry(raw[:-1])))
            except ValueError:
                bad += 1
    return out, bad


def _day(entry: Mapping[str, Any]) -> str:
    return parse_time(entry["time"]).astimezone(BEIJING).date().isoformat()


def build_audit_report(
    logs: Sequence[LogInput],
    *,
    now: datetime,
    names: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
    subject: str | None = None,
    since: date | None = None,
    field: str | None = None,
    certificates: Sequence[tuple[str, bytes]] = (),
    check_certificate: Any = None,
) -> AuditReport:
    """The report over ``logs`` (each verified first, then read for display).

    ``names``/``roles``: key id → name / role from the trust store. ``subject`` (a keyed
    pseudonym) and ``since`` (a Beijing date) select the entries listed with inclusion proofs;
    ``field`` (a catalogue field name) keeps those that reached that field (:func:`touches`).
    ``certificates``: (file name, bytes) of destruction certificates, each checked with
    ``check_certificate(data, log_path)`` (raises on failure) against the first log.
    """
    rep = AuditReport(generated_at=now, names=dict(names or {}))
    querent_ids = {k for k, r in (roles or {}).items() if r == "querent"}
    hits: list[dict[str, Any]] = []
    for lg in logs:
        info = _verify(lg)
        lines, bad = _entries(lg.path)
        info["unreadable_lines"] = bad
        info["entries_read"] = len(lines)
        rep.logs.append(info)
        # registered display names first, so that every entry of this log shows them
        for _, e in lines:
            objects = e["objects"]
            if e["type"] in NAMING_ENTRIES and e["outcome"] == "success" and "name" in objects:
                for k in objects.get("key_ids", ()):
                    rep.names[str(k)] = str(objects["name"])
        matched: list[tuple[int, bytes, dict[str, Any]]] = []
        for raw, e in lines:
            t = str(e["type"])
            actor = e["actor"]
            rep.types[t] += 1
            rep.by_day[_day(e)][t] += 1
            rep.actors[actor["key_id"]] += 1
            rep.actor_roles.setdefault(actor["key_id"], actor["role"])
            objects = e["objects"]
            if e["outcome"] == "denied" or t == "denied":
                rep.denials.append(
                    {
                        "log": str(lg.path),
                        "seq": e["seq"],
                        "time": e["time"],
                        "actor": actor["key_id"],
                        "name": rep.names.get(actor["key_id"]),
                        "role": actor["role"],
                        "ref": objects.get("ref", ""),
                    }
                )
            if t in ("grant", "share") and e["outcome"] == "success":
                for k in objects.get("key_ids", ()):
                    if k in querent_ids or not querent_ids:
                        rep.querents[k][t] += 1
            if t == "open" and actor["role"] == "querent" and e["outcome"] == "success":
                rep.querents[actor["key_id"]]["open"] += 1
            if t == "destroy" and e["outcome"] == "success":
                rep.destroy_entries += 1
            if (
                subject is not None
                and subject in e["subjects"]
                and (since is None or parse_time(e["time"]).astimezone(BEIJING).date() >= since)
                and (field is None or touches(e, field))
            ):
                matched.append((int(e["seq"]), raw, e))
        hits += _with_proofs(lg.path, matched, rep.names)
    if subject is not None:
        rep.query = {
            "subject": subject,
            "since": since.isoformat() if since else None,
            "field": field,
            "entries": len(hits),
            "proven": sum(1 for h in hits if h["proof"]),
            "matches": hits[:MAX_PROOFS],
        }
    for name, data in certificates:
        rep.certificates.append(_check_cert(name, data, logs, check_certificate))
    return rep


def touches(entry: Mapping[str, Any], field: str) -> bool:
    """Whether ``entry`` reached ``field`` of its subjects' records: its ``objects.fields``
    lists it (grants, shares, releases and opens name their fields), or the entry names no
    fields — then it is taken to have reached every field (an ingest, a disclosure, a
    staff read, an entry written before fields were recorded): over-reporting an access is
    the safe side of "who saw field F"."""
    fields = entry["objects"].get("fields")
    return fields is None or field in fields


def _with_proofs(
    path: Path, matched: list[tuple[int, bytes, dict[str, Any]]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each matching entry with an inclusion proof against the log's latest checkpoint (the
    same text ``xinan audit prove N`` prints), the tree built once for all of them. An entry
    whose line no longer verifies under the signed root gets no proof."""
    if not matched:
        return []
    listed = matched[:MAX_PROOFS]
    try:
        proofs = prove_inclusions(path, {seq: raw for seq, raw, _ in listed})
    except XinanError:
        proofs = {}
    out: list[dict[str, Any]] = []
    for seq, raw, e in listed:
        proof = proofs.get(seq)
        actor = e["actor"]
        out.append(
            {
                "log": str(path),
                "seq": seq,
                "time": e["time"],
                "type": e["type"],
                "outcome": e["outcome"],
                "actor": actor["key_id"],
                "name": names.get(actor["key_id"]),
                "role": actor["role"],
                "purpose": e["why"].get("purpose", ""),
                "fields": e["objects"].get("fields"),
                "entry": raw.decode("utf-8"),
                "proof": proof,
                "checkpoint": proof.partition("\n\n")[2] if proof else None,
            }
        )
    return out


def _check_cert(name: str, data: bytes, logs: Sequence[LogInput], check: Any) -> CertificateCheck:
    log = logs[0].path if logs else None
    try:
        res = check(data, log)
    except XinanError as exc:
        return CertificateCheck(name, False, None, None, None, exc.message)
    c = res.certificate
    return CertificateCheck(
        name,
        True,
        c.id,
        c.audit.seq,
        len(c.destruction.records),
        f"entry {c.audit.seq} of {c.audit.origin}",
    )


def report_event(rep: AuditReport, subject: str | None) -> dict[str, Any]:
    """``Session.record`` keyword arguments for the report itself (docs/report.md §4): the
    logs' count, the entries shown and the violations found — never an entry's content. With a
    subject query, the subject's pseudonym is in ``subjects``, so that subject's own access
    report shows that an auditor looked."""
    counts = {
        "logs": len(rep.logs),
        "entries": sum(rep.types.values()),
        "violations": sum(len(lg["violations"]) for lg in rep.logs),
    }
    if rep.query is not None:
        counts["matches"] = rep.query["entries"]
    return {
        "type_": REPORT_EVENT_TYPE,
        "objects": {"ref": "report:audit", "counts": counts},
        "why": {"purpose": "audit-report"},
        "subjects": [subject] if subject else [],
    }
