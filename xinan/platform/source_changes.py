"""Applying a revocation or correction from the source (docs/source-change.md §4;
山东省社会信用条例 第四十条, 行政处罚法 第四十八条; CONTROLS.md row 25).

``Platform.apply_source_change`` (role ``platform``): verifies the signed change against the
trust store, refuses — and logs — a change for a record the sender did not submit, then in one
transaction takes every named record out of every view (``archived_at``: the public view, the
querent's shares, releases not yet made and disclosure files skip it from that moment), records
why in ``source_changes`` and appends the audit entry before the commit. A correction then
ingests the provider's package of corrected records through the ordinary verified ingest and
links each old record to its replacement. The old version stays in the vault, sealed, as
history, until retention destroys it.

Does not own: the file format (:mod:`xinan.formats.source_change`), SQL
(:mod:`xinan.platform.store.source_changes`), ingest (:mod:`xinan.platform.ingest`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any

from xinan.errors import (
    AccessDenied,
    CalendarRangeError,
    IntegrityError,
    SourceChangeInvalid,
    UsageError,
    XinanError,
)
from xinan.fileio import open_input
from xinan.formats.package import verify_package
from xinan.formats.source_change import (
    MAX_FILE_BYTES,
    Action,
    SourceChange,
    read_source_change,
)
from xinan.keys import Keyring, PublicKeyInfo, Role
from xinan.platform.lifecycle_common import require
from xinan.platform.records_ops import RecordOps
from xinan.policy.calendar import WorkCalendar

__all__ = ["PROPAGATION_WORKING_DAYS", "SourceChangeApplied", "SourceChangeOps"]

# 山东省社会信用条例 第四十条 / CONTROLS.md row 25: a change at the source reaches the platform
# within three working days of the source's decision; later is applied, and reported as late.
PROPAGATION_WORKING_DAYS = 3
PURPOSE = "source-change"


@dataclass(frozen=True)
class SourceChangeApplied:
    change_id: str
    action: str
    records: tuple[str, ...]
    replaced_by: tuple[str, ...]
    package: str | None
    deadline: date | None  # None: the holiday calendar does not cover the dates
    late_days: int | None  # working days past the deadline (0: in time; None: unknown)
    already: bool  # applied before: nothing changed

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "action": self.action,
            "records": list(self.records),
            "replaced_by": list(self.replaced_by),
            "package": self.package,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "late_days": self.late_days,
            "already": self.already,
        }


def _providers(keyring: Keyring) -> dict[str, PublicKeyInfo]:
    out: dict[str, PublicKeyInfo] = {}
    for e in keyring.list():
        if e.kind != "secret" and e.role == Role.PROVIDER.value:
            try:
                info = keyring.get_public(e.id)
            except XinanError:
                continue
            out[info.key_id] = info
    return out


class SourceChangeOps(RecordOps):
    def apply_source_change(
        self,
        change_file: Path | str,
        *,
        package: Path | str | None = None,
        calendar: WorkCalendar | None = None,
    ) -> SourceChangeApplied:
        """Apply a signed revocation or correction (role ``platform``); see the module doc.

        ``package`` is the submission package of corrected records a correction names. Every
        refusal is logged (outcome ``denied``, ``ref`` naming the rule) before it is raised."""
        require(self.session, "source.apply")
        with open_input(change_file, "the source change") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # larger is refused by the reader
        try:
            change = read_source_change(data, _providers(self.keyring))
        except IntegrityError:
            # opaque, but naming the file (the signature, not why)
            bad = IntegrityError(f"{change_file}: the source change's signature is not valid")
            raise self._refuse(None, "source-change-valid", bad) from None
        except XinanError as e:
            raise self._refuse(None, "source-change-valid", e) from None
        vault = self.unlocked_vault()  # reads and status changes check and rewrite row MACs
        if change.policy != vault.config.policy_label:
            raise self._refuse(
                change,
                "source-change-policy",
                SourceChangeInvalid(
                    f"{change_file}: the change is for policy {change.policy}, the vault's is "
                    f"{vault.config.policy_label}"
                ),
            )
        subjects: set[str] = set()
        for rid in change.records:
            try:
                rec = vault.get(rid)
            except UsageError as e:
                raise self._refuse(change, "source-change-record", e) from None
            row = vault.store.package_summary(rec.package_id)
            if row is None or row[4] != change.sender_key_id:
                raise self._refuse(
                    change,
                    "source-change-sender",
                    AccessDenied(
                        f"{change_file}: record {rid} was not submitted by "
                        f"{change.sender_id} ({change.sender_key_id}); only the provider that "
                        "submitted a record revokes or corrects it",
                        rule="source-change-sender",
                        hint="the record's own provider sends the change (山东省社会信用条例 "
                        "第四十条)",
                    ),
                )
            if rec.status.get("destroyed_at"):
                raise self._refuse(
                    change,
                    "source-change-destroyed",
                    UsageError(f"record {rid} was destroyed; nothing is left to change"),
                )
            subjects.update(rec.subjects)
        if change.action is Action.CORRECT:
            self._check_package(change, package)
        cal = calendar or WorkCalendar.default()
        today = self.today()
        deadline: date | None
        late: int | None
        try:
            deadline = cal.add_working_days(change.decided, PROPAGATION_WORKING_DAYS)
            late = cal.working_days_between(deadline, today) if today > deadline else 0
        except CalendarRangeError:
            # no holiday schedule for that year: the lateness is unknown, and said so; the
            # withdrawal itself never waits for a calendar (fail closed: the record goes)
            deadline = late = None
        store = vault.store
        store.prepare_source_changes()
        rows = store.source_change_rows(change.id)
        already = bool(rows)
        if not already:
            at = self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with vault.transaction():
                for rid in change.records:
                    store.set_archived(rid, at)
                store.insert_source_changes(
                    [
                        (
                            change.id,
                            rid,
                            change.action.value,
                            None,
                            change.sender_key_id,
                            change.decided.isoformat(),
                            deadline.isoformat() if deadline else "unknown",
                            change.basis,
                            at,
                            self.actor.key_id,
                        )
                        for rid in change.records
                    ]
                )
                objects: dict[str, Any] = {
                    "ref": f"change:{change.id}",
                    "record_ids": list(change.records),
                    "key_ids": [change.sender_key_id],
                    "policy": change.policy,
                    "counts": {"records": len(change.records)}
                    | ({"late_days": late} if late is not None else {}),
                }
                if change.package is not None:
                    objects["package"] = change.package
                self.session.record(
                    "revoke" if change.action is Action.REVOKE else "correct",
                    objects=objects,
                    why={"purpose": PURPOSE, "basis": change.basis},
                    subjects=sorted(subjects),
                )
        replaced: tuple[str, ...] = ()
        if change.action is Action.CORRECT and package is not None:
            replaced = self._replace(change, Path(package))
        return SourceChangeApplied(
            change.id,
            change.action.value,
            change.records,
            replaced,
            change.package,
            deadline,
            late,
            already and (change.action is Action.REVOKE or all(r[3] for r in rows)),
        )

    # -- helpers -------------------------------------------------------------------------------
    def _refuse(self, change: SourceChange | None, rule: str, exc: XinanError) -> XinanError:
        """Log a refusal (before it is raised): the rule, the change and its records."""
        objects: dict[str, Any] = {"ref": f"rule:{rule}"}
        if change is not None:
            objects["record_ids"] = list(change.records)
            objects["key_ids"] = [change.sender_key_id]
        entry = "correct" if change is not None and change.action is Action.CORRECT else "revoke"
        self.session.record(entry, outcome="denied", objects=objects, why={"purpose": PURPOSE})
        return exc

    def _check_package(self, change: SourceChange, package: Path | str | None) -> None:
        """The package given is the one the correction names, from the same provider."""
        if package is None:
            raise self._refuse(
                change,
                "source-change-package",
                UsageError(
                    "a correction needs the package of corrected records it names",
                    hint=f"pass --package with package {change.package}",
                ),
            )
        try:
            with open_input(package, "the corrected package") as f:
                info = verify_package(f, trust=self.keyring.get_public)
        except XinanError as e:
            raise self._refuse(change, "source-change-package", e) from None
        digest = base64.b64encode(info.records_digest).decode("ascii")
        sender = self.keyring.get_public(info.sender)
        if (
            info.package_id != change.package
            or digest != change.package_digest
            or info.count != len(change.records)
            or sender.key_id != change.sender_key_id
            or info.audience != "submission"
        ):
            raise self._refuse(
                change,
                "source-change-package",
                SourceChangeInvalid(
                    f"{package}: not the package the change names (package {change.package}, "
                    f"{len(change.records)} records, from {change.sender_id})"
                ),
            )

    def _replace(self, change: SourceChange, package: Path) -> tuple[str, ...]:
        """Ingest the corrected records (the ordinary verified ingest, its own audit entry) and
        link each withdrawn record to the record of the package at its position."""
        self.ingest(package)
        vault = self.vault
        new = vault.store.package_record_ids(str(change.package))
        if len(new) != len(change.records):
            raise SourceChangeInvalid(
                f"{package}: holds {len(new)} records, the change replaces {len(change.records)}"
            )
        with vault.transaction():
            vault.store.set_replaced_by(change.id, list(zip(change.records, new, strict=True)))
        return tuple(new)
