"""Objections (异议) and repair applications (信用修复) at rest (docs/vault.md §12).

A decision updates exactly one row that is still open (``…_once`` methods return whether it
did): the state is checked again under the write lock, so two operators cannot decide the same
case twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from xinan.platform.store.base import StoreBase

DISPUTE_COLUMNS = (
    "dispute_id, record_id, subjects, raised_by, reason, track, received, deadline, opened_at, "
    "opened_by, outcome, corrected_fields, resolved_at, resolved_by"
)
REPAIR_COLUMNS = (
    "repair_id, record_id, subjects, commitment, obligations, earliest, applied_at, applied_by, "
    "state, decided_at, decided_by, reason"
)


RESTRICTION_COLUMNS = (
    "record_id, subjects, requested_by, reason, received, restricted_at, restricted_by"
)


PIA_COLUMNS = (
    "pia_id, purpose, fields, ref, conclusion, assessed_on, created_at, created_by, keep_until"
)


class LifecycleStore(StoreBase):
    def ensure_lifecycle_tables(self) -> None:
        """Create the life-cycle tables when missing: before a write transaction that writes
        one of them first (they are created outside transactions, docs/vault.md §12)."""
        self._lifecycle()

    # -- the outbox (xinan/platform/outbox.py, docs/outbox.md) -----------------------------------
    def insert_outbox(self, values: Sequence[Any]) -> None:
        self._lifecycle().execute(
            "INSERT INTO outbox(kind, ref, record_id, subjects, recipient, body, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            tuple(values),
        )

    def outbox_rows(self, after: int) -> list[tuple[Any, ...]]:
        return list(
            self._lifecycle().execute(
                "SELECT seq, kind, ref, record_id, subjects, recipient, body, created_at "
                "FROM outbox WHERE seq > ? ORDER BY seq",
                (int(after),),
            )
        )

    def outbox_refs(self, kind: str) -> set[str]:
        return {
            str(r[0])
            for r in self._lifecycle().execute("SELECT ref FROM outbox WHERE kind = ?", (kind,))
        }

    # -- impact assessments and what consents stand on (xinan/platform/pia.py) -----------------
    def pia_row(self, pia_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = (
            self._lifecycle()
            .execute(
                f"SELECT {PIA_COLUMNS} FROM pias WHERE pia_id = ?",  # noqa: S608  # nosec B608
                (pia_id,),
            )
            .fetchone()
        )
        return row

    def pia_rows(self) -> list[tuple[Any, ...]]:
        return list(
            self._lifecycle().execute(
                f"SELECT {PIA_COLUMNS} FROM pias ORDER BY rowid"  # noqa: S608  # nosec B608
            )
        )

    def insert_pia(self, values: Sequence[Any]) -> None:
        self._lifecycle().execute(
            f"INSERT INTO pias({PIA_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",  # noqa: S608  # nosec B608
            tuple(values),
        )

    def delete_pias(self, pia_ids: Sequence[str]) -> None:
        self._lifecycle().executemany("DELETE FROM pias WHERE pia_id = ?", [(i,) for i in pia_ids])

    def pia_in_use(self, pia_id: str, now: str) -> bool:
        """A consent in force (not revoked, not past its validity) stands on this PIA."""
        row = (
            self._lifecycle()
            .execute(
                "SELECT 1 FROM consent_bases b JOIN consents c ON c.consent_id = b.consent_id "
                "WHERE b.pia_id = ? AND c.revoked_at IS NULL AND c.valid_until > ? LIMIT 1",
                (pia_id, now),
            )
            .fetchone()
        )
        return row is not None

    def insert_consent_basis(self, consent_id: str, pia_id: str | None, basis: str | None) -> None:
        self._lifecycle().execute(
            "INSERT INTO consent_bases(consent_id, pia_id, basis) VALUES (?,?,?)",
            (consent_id, pia_id, basis),
        )

    def consent_basis_row(self, consent_id: str) -> tuple[str | None, str | None]:
        row = (
            self._lifecycle()
            .execute("SELECT pia_id, basis FROM consent_bases WHERE consent_id = ?", (consent_id,))
            .fetchone()
        )
        return (row[0], row[1]) if row else (None, None)

    # -- restrictions (a subject's deletion request before retention ends) -----------------------
    def restriction_row(self, record_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = (
            self._lifecycle()
            .execute(
                f"SELECT {RESTRICTION_COLUMNS} FROM restrictions WHERE record_id = ?",  # noqa: S608  # nosec B608
                (record_id,),
            )
            .fetchone()
        )
        return row

    def restriction_rows(self) -> list[tuple[Any, ...]]:
        return list(
            self._lifecycle().execute(
                f"SELECT {RESTRICTION_COLUMNS} FROM restrictions ORDER BY rowid"  # noqa: S608  # nosec B608
            )
        )

    def insert_restriction(self, values: Sequence[Any]) -> None:
        self._lifecycle().execute(
            f"INSERT INTO restrictions({RESTRICTION_COLUMNS}) VALUES (?,?,?,?,?,?,?)",  # noqa: S608  # nosec B608
            tuple(values),
        )

    # -- objections ------------------------------------------------------------------------------
    def dispute_row(self, dispute_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = (
            self._lifecycle()
            .execute(
                f"SELECT {DISPUTE_COLUMNS} FROM disputes WHERE dispute_id = ?",  # noqa: S608  # nosec B608
                (dispute_id,),
            )
            .fetchone()
        )
        return row

    def dispute_ids_from(self, prefix: str, limit: int) -> list[str]:
        """Objection ids that begin with ``prefix`` (a typed short id; xinan/short_ids.py)."""
        rows = (
            self._lifecycle()
            .execute(
                "SELECT dispute_id FROM disputes WHERE dispute_id >= ? AND dispute_id < ? "
                "ORDER BY dispute_id LIMIT ?",
                (prefix, prefix + "\U0010ffff", int(limit)),
            )
            .fetchall()
        )
        return [str(r[0]) for r in rows]

    def open_dispute_row(self, record_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = (
            self._lifecycle()
            .execute(
                f"SELECT {DISPUTE_COLUMNS} FROM disputes WHERE record_id = ? AND outcome IS NULL",  # noqa: S608  # nosec B608
                (record_id,),
            )
            .fetchone()
        )
        return row

    def dispute_rows(self) -> list[tuple[Any, ...]]:
        return list(
            self._lifecycle().execute(
                f"SELECT {DISPUTE_COLUMNS} FROM disputes ORDER BY rowid"  # noqa: S608  # nosec B608
            )
        )

    def insert_dispute(self, values: Sequence[Any]) -> None:
        """The ten opening columns of :data:`DISPUTE_COLUMNS`; the outcome columns stay NULL."""
        self._lifecycle().execute(
            f"INSERT INTO disputes({DISPUTE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL)",  # noqa: E501,S608  # nosec B608
            tuple(values),
        )

    def resolve_dispute_once(
        self, dispute_id: str, *, outcome: str, corrected: Sequence[str], at: str, by: str
    ) -> bool:
        cur = self._lifecycle().execute(
            "UPDATE disputes SET outcome = ?, corrected_fields = ?, resolved_at = ?, "
            "resolved_by = ? WHERE dispute_id = ? AND outcome IS NULL",
            (
                outcome,
                json.dumps(list(corrected), ensure_ascii=False) if corrected else None,
                at,
                by,
                dispute_id,
            ),
        )
        return cur.rowcount == 1

    def removing_dispute_of(self, record_id: str) -> tuple[str, str] | None:
        """(dispute id, resolved by) of the objection that removed a record, if one did."""
        row = (
            self._lifecycle()
            .execute(
                "SELECT dispute_id, resolved_by FROM disputes WHERE record_id = ? "
                "AND outcome = 'removed'",
                (record_id,),
            )
            .fetchone()
        )
        return None if row is None else (str(row[0]), str(row[1]))

    # -- repair applications ----------------------------------------------------------------------
    def repair_row(self, repair_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = (
            self._lifecycle()
            .execute(
                f"SELECT {REPAIR_COLUMNS} FROM repairs WHERE repair_id = ?",  # noqa: S608  # nosec B608
                (repair_id,),
            )
            .fetchone()
        )
        return row

    def repair_ids_from(self, prefix: str, limit: int) -> list[str]:
        """Repair ids that begin with ``prefix`` (a typed short id; xinan/short_ids.py)."""
        rows = (
            self._lifecycle()
            .execute(
                "SELECT repair_id FROM repairs WHERE repair_id >= ? AND repair_id < ? "
                "ORDER BY repair_id LIMIT ?",
                (prefix, prefix + "\U0010ffff", int(limit)),
            )
            .fetchall()
        )
        return [str(r[0]) for r in rows]

    def repair_rows(self) -> list[tuple[Any, ...]]:
        return list(
            self._lifecycle().execute(
                f"SELECT {REPAIR_COLUMNS} FROM repairs ORDER BY rowid"  # noqa: S608  # nosec B608
            )
        )

    def pending_repair_id(self, record_id: str) -> str | None:
        row = (
            self._lifecycle()
            .execute(
                "SELECT repair_id FROM repairs WHERE record_id = ? AND state = 'pending'",
                (record_id,),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def insert_repair(self, values: Sequence[Any]) -> None:
        """The nine application columns of :data:`REPAIR_COLUMNS`; the decision stays NULL."""
        self._lifecycle().execute(
            f"INSERT INTO repairs({REPAIR_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL,NULL)",  # noqa: S608  # nosec B608
            tuple(values),
        )

    def decide_repair_once(
        self, repair_id: str, *, state: str, at: str, by: str, reason: str | None = None
    ) -> bool:
        """Approve or reject a pending application; false when it was decided meanwhile."""
        if reason is None:
            cur = self._lifecycle().execute(
                "UPDATE repairs SET state = ?, decided_at = ?, decided_by = ? "
                "WHERE repair_id = ? AND state = 'pending'",
                (state, at, by, repair_id),
            )
        else:
            cur = self._lifecycle().execute(
                "UPDATE repairs SET state = ?, decided_at = ?, decided_by = ?, reason = ? "
                "WHERE repair_id = ? AND state = 'pending'",
                (state, at, by, reason, repair_id),
            )
        return cur.rowcount == 1

    def approved_repair_of(self, record_id: str) -> tuple[str, str] | None:
        """(repair id, decided by) of the approved repair of a record, if there is one."""
        row = (
            self._lifecycle()
            .execute(
                "SELECT repair_id, decided_by FROM repairs WHERE record_id = ? "
                "AND state = 'approved'",
                (record_id,),
            )
            .fetchone()
        )
        return None if row is None else (str(row[0]), str(row[1]))

    def lifecycle_tables(self) -> list[str]:
        """The objection, repair and source-change tables that exist (a destruction shreds
        their rows)."""
        return [
            str(t)
            for (t,) in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
                "('disputes', 'repairs', 'source_changes')"
            )
        ]
