"""(2) The platform's life-cycle operations: public disclosure, objections (异议), credit repair
(信用修复) and destruction (docs/lifecycle.md, docs/destruction.md).

Each method checks the role, logs before the effect and records every read (see
:mod:`xinan.platform.service`). What ``destroy`` destroys — every record past its retention,
or the records a security administrator names with a reason — is decided here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xinan.errors import UsageError
from xinan.fileio import write_bytes_atomic
from xinan.platform import outbox
from xinan.platform.destruction import Rule
from xinan.platform.lifecycle import (
    TRACKS,
    DisclosureSummary,
    Dispute,
    DisputedPolicy,
    Outcome,
    Repair,
    apply_repair,
    approve_repair,
    disclose,
    list_disputes,
    list_repairs,
    open_dispute,
    raiser_reference,
    reject_repair,
    resolve_dispute,
)
from xinan.platform.lifecycle_common import utc_text
from xinan.platform.restrictions import Restriction, list_restrictions, restrict_record
from xinan.platform.retention import DestroyResult, DueRecord, expired_records
from xinan.platform.retention import destroy as destroy_records
from xinan.platform.service import PlatformCore


@dataclass(frozen=True)
class DestroyOutcome:
    """What a destruction did: ``result`` is ``None`` when nothing was due."""

    as_of: date
    rule: Rule
    result: DestroyResult | None
    due: tuple[DueRecord, ...] = ()  # what is (or, in a dry run, would be) destroyed


def check_destroy_request(*, expired: bool, records: Sequence[str]) -> None:
    """Exactly one of: every expired record, or named records."""
    if expired == bool(records):
        raise UsageError(
            "say what to destroy: --expired, or --record ID --reason TEXT",
            hint="check a certificate with `xinan destroy verify CERT [--audit-log LOG]`",
        )


class LifecycleOps(PlatformCore):
    # -- public disclosure (双公示) ------------------------------------------------------------
    def disclose(
        self,
        output: str | Path,
        *,
        as_of: date | None = None,
        historical: bool = False,
        kind: str | None = None,
        audience: str = "public",
        disputed: str = "flag",
        encoding: str = "utf-8",
    ) -> DisclosureSummary:
        """Write the public view as of a date (default today, CST). A past date re-creates an
        old view, which can show records whose window has ended since: it needs
        ``historical=True`` (for review, never for publication)."""
        self.require("vault.disclose")
        now = self.now()
        today = self.today()
        day = as_of or today
        if day < today and not historical:
            raise UsageError(
                f"--as-of {day} is in the past: that view can hold records whose window has ended",
                hint="pass --historical to make it for review (never publish it), or omit --as-of",
            )
        pol = self.policy
        vault = self.unlocked_vault()
        return disclose(
            vault,
            pol,
            output,
            as_of=day,
            session=self.session,
            now=now,
            today=today,
            kind=kind,
            audience=audience,
            disputed=DisputedPolicy(disputed),
            encoding=encoding,
        )

    # -- objections (异议) ---------------------------------------------------------------------
    def open_dispute(
        self,
        record_id: str,
        *,
        reason: str,
        by: str,
        track: str = "own",
        received: date | None = None,
    ) -> Dispute:
        """Flag the record at once and fix the answer's deadline on the working-day calendar.
        ``by`` is the raiser: a subject's ID or USCC (pseudonymised at once), a pseudonym, or
        an organisation's name."""
        self.require("dispute")
        today = self.today()
        day = received or today
        if day > today:
            raise UsageError(f"--received {day} is in the future")
        if track not in TRACKS:
            raise UsageError(f"unknown track {track!r}", hint=f"one of: {', '.join(TRACKS)}")
        pol = self.policy
        raiser, _ = raiser_reference(by, today=today, pseudonymize=self.subject_pseudonym)
        del by
        return open_dispute(
            self.vault,
            pol,
            record_id,
            reason=reason,
            raised_by=raiser,
            track=TRACKS[track],
            received=day,
            session=self.session,
            now=self.now(),
            today=today,
        )

    def resolve_dispute(
        self, dispute_id: str, *, outcome: str, correction: Mapping[str, str] | None = None
    ) -> Dispute:
        """corrected: apply the correction (clear fields only) and lift the flag; upheld: lift
        the flag; removed: the record leaves every view and waits for destruction."""
        self.require("dispute")
        return resolve_dispute(
            self.vault,
            self.policy,
            dispute_id,
            outcome=Outcome(outcome),
            correction=dict(correction) if correction is not None else None,
            session=self.session,
            now=self.now(),
            today=self.today(),
        )

    def disputes(
        self, *, as_of: date | None = None, overdue_only: bool = False, open_only: bool = False
    ) -> list[Dispute]:
        """Objections with their deadlines (the read is logged). With ``overdue_only`` and any
        objection overdue, the entry is an alert (see :meth:`overdue_disputes`)."""
        self.require("dispute")
        day = as_of or self.today()
        rows = list_disputes(self.vault, as_of=day, overdue_only=overdue_only, open_only=open_only)
        late = [d for d in rows if d.overdue(day)] if overdue_only else []
        objects: dict[str, Any] = {
            "ref": f"vault:{self.vault.config.id}:disputes",
            "counts": {"disputes": len(rows)},
        }
        why = {"purpose": "inspection"}
        if late:
            # CONTROLS.md 24 (山东 art. 39): an overdue objection escalates — the log says so,
            # naming the records, so an auditor sees the alert and when it was raised
            objects["counts"] = {"disputes": len(rows), "overdue": len(late)}
            objects["record_ids"] = sorted({d.record_id for d in late})
            why["basis"] = f"alert: {len(late)} objection(s) overdue on {day.isoformat()}"
        self.session.record("open", objects=objects, why=why)
        return rows

    def overdue_disputes(self, *, as_of: date | None = None) -> list[Dispute]:
        """The open objections past their deadline on ``as_of`` (default today), for a
        scheduler: a non-empty answer is an alert (CONTROLS.md 24), logged as an ``open`` of
        ``vault:<id>:disputes`` with ``why.basis`` ``alert: …`` and the records' ids; an empty
        answer is logged as an ordinary inspection."""
        return self.disputes(as_of=as_of, overdue_only=True)

    def notify_overdue(self, *, as_of: date | None = None) -> int:
        """One ``notice.objection-overdue`` per open objection past its deadline on ``as_of``
        that has none yet (docs/outbox.md; CONTROLS.md 24), with one audit entry; returns how
        many were written (0: nothing is logged)."""
        self.require("dispute")
        day = as_of or self.today()
        store = self.vault.store
        due = outbox.overdue_notices_due(
            list_disputes(self.vault, as_of=day, overdue_only=True),
            store.outbox_refs("notice.objection-overdue"),
            day,
        )
        if not due:
            return 0
        at = utc_text(self.now())
        with self.vault.transaction():
            self.session.record(
                "dispute",
                objects={"ref": "notice:overdue", "record_ids": sorted({d.record_id for d in due}),
                         "counts": {"notices": len(due)}},
                why={"purpose": "objection",
                     "basis": f"notice: {len(due)} objection(s) overdue on {day.isoformat()}"},
            )  # fmt: skip
            for d in due:
                outbox.put(store, kind="notice.objection-overdue", ref=f"dispute:{d.id}",
                           record_id=d.record_id, subjects=d.subjects, to=d.raised_by,
                           body={"dispute": d.id, "deadline": d.deadline.isoformat(),
                                 "as_of": day.isoformat()}, at=at)  # fmt: skip
        return len(due)

    def pull_outbox(self, output: str | Path, *, after: int = 0) -> outbox.Pulled:
        """The events and notices after ``after`` as a signed ``xinan-outbox/1`` file (role
        platform; docs/outbox.md §2); the pull is logged before the file is written."""
        self.require("outbox.pull")
        rows = self.vault.store.outbox_rows(after)
        signer = self.platform_identity()
        buf = io.BytesIO()
        last = outbox.write_pull(buf, rows, signer=signer, vault=self.vault.config.id,
                                 created=utc_text(self.now()), after=after)  # fmt: skip
        self.session.record(
            "open",
            objects={"ref": f"outbox:{after}-{last}", "counts": {"events": len(rows)}},
            why={"purpose": "notification"},
        )
        write_bytes_atomic(Path(output), buf.getvalue(), secret=True)
        return outbox.Pulled(str(output), after, last, len(rows))

    # -- credit repair (信用修复) --------------------------------------------------------------
    def apply_repair(
        self,
        record_id: str,
        *,
        commitment: str,
        obligations_met: bool,
        evidence: str | None = None,
    ) -> Repair:
        """Record an application after the checks (minimum period over, obligations met,
        commitment given). Role platform."""
        self.require("repair.apply")
        return apply_repair(
            self.vault,
            self.policy,
            record_id,
            commitment=commitment,
            obligations_met=obligations_met,
            evidence=evidence,
            session=self.session,
            now=self.now(),
            today=self.today(),
        )

    def approve_repair(self, repair_id: str) -> Repair:
        """The record leaves the public and sharing views and is archived. Role sec-admin."""
        self.require("repair")
        return approve_repair(
            self.vault,
            self.policy,
            repair_id,
            session=self.session,
            now=self.now(),
            today=self.today(),
        )

    def reject_repair(self, repair_id: str, *, reason: str) -> Repair:
        self.require("repair")
        return reject_repair(
            self.vault,
            self.policy,
            repair_id,
            reason=reason,
            session=self.session,
            now=self.now(),
            today=self.today(),
        )

    def repairs(self) -> list[Repair]:
        """Repair applications and decisions (the read is logged). Role sec-admin."""
        self.require("repair")
        rows = list_repairs(self.vault)
        self.session.record(
            "open",
            objects={
                "ref": f"vault:{self.vault.config.id}:repairs",
                "counts": {"rows": len(rows)},
            },
        )
        return rows

    # -- restriction (a subject's deletion request before retention ends) ----------------------
    def restrict(
        self, record_id: str, *, by: str, reason: str, received: date | None = None
    ) -> Restriction:
        """Restrict a record at its subject's deletion request before retention ends (PIPL 47
        ¶2; docs/lifecycle.md §8): stored, out of every view and share, listed only in the
        audit administrator's archive, destroyed at retention. ``by``: the subject's ID or
        USCC (pseudonymised at once), a pseudonym, or an organisation's name. Logged."""
        self.require("restrict")
        today = self.today()
        requested_by, _ = raiser_reference(by, today=today, pseudonymize=self.subject_pseudonym)
        del by
        return restrict_record(
            self.vault,
            self.policy,
            record_id,
            requested_by=requested_by,
            reason=reason,
            received=received or today,
            session=self.session,
            now=self.now(),
            today=today,
        )

    def restrictions(self) -> list[Restriction]:
        """The restricted records (metadata only; the read is logged)."""
        self.require("restrict")
        rows = list_restrictions(self.vault)
        self.session.record(
            "open",
            objects={
                "ref": f"vault:{self.vault.config.id}:restrictions",
                "counts": {"rows": len(rows)},
            },
            why={"purpose": "inspection"},
        )
        return rows

    # -- destruction (docs/destruction.md) ---------------------------------------------------
    def destroy(
        self,
        *,
        expired: bool = False,
        records: Sequence[str] = (),
        reason: str | None = None,
        as_of: date | None = None,
        output: Path | None = None,
        dry_run: bool = False,
    ) -> DestroyOutcome:
        """Crypto-shred every record past its retention on ``as_of`` (``expired``), or the
        ``records`` a security administrator names with a ``reason``; one signed certificate
        per chunk. The audit entry is durable before the key store's commit.

        ``dry_run``: nothing is destroyed; the outcome's ``due`` lists what would be (the
        preview is logged as a read)."""
        check_destroy_request(expired=expired, records=records)
        self.require("destroy")
        pol = self.policy
        day = as_of or self.today()
        if expired:
            due = list(expired_records(self.vault, pol, day))
            rule = Rule.retention(
                citation=pol.lifecycle.retention.citation if pol.lifecycle else "", as_of=day
            )
        else:
            if not reason:
                raise UsageError("--record needs --reason TEXT (recorded in the certificate)")
            due = []
            for rid in records:
                rec = self.vault.get(rid)
                if rec.status.get("destroyed_at"):
                    raise UsageError(f"record {rid!r} was already destroyed")
                due.append(DueRecord(rec, None))
            rule = Rule.manual(reason, today=day)
        if dry_run:
            self.session.record(
                "open", objects={"ref": "destroy:preview", "counts": {"rows": len(due)}}
            )
            return DestroyOutcome(day, rule, None, tuple(due))
        if not due:
            return DestroyOutcome(day, rule, None)
        result = destroy_records(
            self.vault,
            self.session,
            due,
            rule=rule,
            log_path=self.log_path,
            now=self.now(),
            out=output,
        )
        return DestroyOutcome(day, rule, result, tuple(due))

    def describe(self) -> dict[str, Any]:
        """The vault's identity (no secret): id, policy, platform and pseudonym keys."""
        c = self.vault.config
        return {
            "vault": str(self.vault.path),
            "id": c.id,
            "policy": c.policy,
            "platform": c.platform_key_id,
            "audit_log": str(self.log_path),
        }
