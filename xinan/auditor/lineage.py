"""A record's life in the log: every entry that names it, in order, from a verified log.

CONTROLS.md 30 (数据安全法 第二十七条; 山东省社会信用条例 第三十六条; the plan's generation,
transmission, use, storage, sharing and destruction): a lineage query reconstructs a record's
history — collection (ingest), disclosure, sharing, objection, repair, source changes,
destruction — as an ordered list of entries whose chain the auditor checked first. An entry
belongs to the record when ``objects.record_ids`` lists it, or, when the caller gives the
package the record arrived in, when ``objects.package`` is that package (an ingest of more
than 10,000 records lists no ids, docs/audit-log.md). Display is from the lines the
verification covered: a log that does not verify yields no lineage (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xinan.auditor.audit_report import LogInput, _entries, _verify
from xinan.errors import AuditViolation, UsageError

FORMAT = "xinan-lineage/1"
MAX_ID = 128


@dataclass
class Lineage:
    """The verified log and the entries naming the record, oldest first."""

    record_id: str
    package: str | None
    log: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    def stages(self) -> list[str]:
        """The record's stages in order, one per entry (``ingest``, ``share``, ``destroy`` …)."""
        return [str(e["type"]) for e in self.entries]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "record_id": self.record_id,
            "package": self.package,
            "log": {k: self.log[k] for k in ("path", "origin", "ok", "size", "root")},
            "entries": self.entries,
            "stages": self.stages(),
        }


def _check_ref(value: str, what: str) -> str:
    v = value.strip()
    if not v or len(v) > MAX_ID or any(c.isspace() for c in v):
        raise UsageError(f"{what} must be one id of at most {MAX_ID} characters, no spaces")
    return v


def build_lineage(lg: LogInput, record_id: str, *, package: str | None = None) -> Lineage:
    """Verify ``lg`` (raising its first violation), then collect the record's entries."""
    rid = _check_ref(record_id, "the record id")
    pkg = _check_ref(package, "--package") if package is not None else None
    info = _verify(lg)
    if not info["ok"]:
        first = info["violations"][0]
        raise AuditViolation(
            f"{lg.path}: the log does not verify ({first['message']}): no lineage from it",
            hint="run `xinan audit verify` to see every violation",
            data={k: v for k, v in first.items() if k not in ("violation", "message")},
        )
    lines, _bad = _entries(lg.path)
    hits = []
    for _raw, e in lines:
        objects = e["objects"]
        if rid in objects.get("record_ids", ()) or (
            pkg is not None and objects.get("package") == pkg
        ):
            hits.append(e)
    hits.sort(key=lambda e: int(e["seq"]))
    return Lineage(rid, pkg, info, hits)


def lineage_event(lin: Lineage) -> dict[str, Any]:
    """The audit entry recording that someone read a record's lineage."""
    objects: dict[str, Any] = {
        "record_ids": [lin.record_id],
        "ref": "lineage",
        "counts": {"entries": len(lin.entries)},
    }
    if lin.package is not None:
        objects["package"] = lin.package
    return {"type_": "audit.lineage", "objects": objects, "why": {"purpose": "audit"}}
