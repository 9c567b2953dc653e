"""A data subject's deletion request before retention ends: the record is *restricted*
(docs/lifecycle.md §8; CONTROLS.md 28; PIPL art. 47 para. 2, 征信业管理条例 art. 16).

Negative credit information is kept for five years from the end of the act (征信 16; 山东 38)
— the law's retention period — so a subject's request to delete it earlier cannot be met by
shredding. What PIPL 47 ¶2 asks instead is that the handler **stop every processing except
storage and the necessary security measures**. xinan does that as one logged, integrity-
protected state change:

* a ``restrictions`` row (who asked, as a keyed pseudonym or an organisation's name; the
  reason; the day the request was received; who recorded it) — created with ``CREATE TABLE IF
  NOT EXISTS`` on first use (docs/vault.md §11: a vault before it opens unchanged);
* the record's ``archived_at`` set in the same transaction, under the row MAC (§3.1): the record
  leaves every view and every share at once — `vault list`, `show` (nobody holds both
  ``vault.read`` and ``vault.archive``), the public and internal disclosures, shares and
  releases, objections and repairs — and the only thing left is its storage and the audit
  administrator's archive listing (masked metadata, ``cause: restricted``);
* a ``restrict`` audit entry (record, subjects, basis) appended before the commit;
* at the end of retention ``destroy --expired`` shreds it like any other record (it is still in
  ``expired_records``): restricted until then, destroyed then.

Deleting the ``restrictions`` row does not lift the restriction: the record's ``archived_at`` is
under its MAC, and nothing in xinan clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xinan.access import Session
from xinan.errors import UsageError
from xinan.platform.lifecycle_common import check_text, record_state, utc_text
from xinan.platform.vault import Vault
from xinan.policy.catalogue import Policy

PURPOSE_RESTRICT = "restriction"  # why.purpose of the entry: the subject's request (PIPL 47)


@dataclass(frozen=True)
class Restriction:
    record_id: str
    subjects: tuple[str, ...]
    requested_by: str  # a keyed pseudonym or an organisation's name; never a clear ID
    reason: str
    received: date
    restricted_at: str
    restricted_by: str  # key id of who recorded it

    def to_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "subjects": list(self.subjects),
            "requested_by": self.requested_by,
            "reason": self.reason,
            "received": self.received.isoformat(),
            "restricted_at": self.restricted_at,
            "restricted_by": self.restricted_by,
        }


def _restriction(r: tuple[Any, ...]) -> Restriction:
    import json

    return Restriction(
        record_id=str(r[0]),
        subjects=tuple(json.loads(r[1])),
        requested_by=str(r[2]),
        reason=str(r[3]),
        received=date.fromisoformat(r[4]),
        restricted_at=str(r[5]),
        restricted_by=str(r[6]),
    )


def restriction_of(vault: Vault, record_id: str) -> Restriction | None:
    r = vault.store.restriction_row(record_id)
    return _restriction(r) if r else None


def list_restrictions(vault: Vault) -> list[Restriction]:
    return [_restriction(r) for r in vault.store.restriction_rows()]


def restrict_record(
    vault: Vault,
    policy: Policy,
    record_id: str,
    *,
    requested_by: str,
    reason: str,
    received: date,
    session: Session,
    now: datetime,
    today: date,
) -> Restriction:
    """Restrict ``record_id`` at its subject's request (module docstring). Refused for a record
    already destroyed, repaired or removed (it is in no view already) or already restricted."""
    import json

    vault.check_policy(policy)
    reason = check_text(reason, "--reason", today=today)
    if received > today:
        raise UsageError(f"--received {received} is in the future")
    rec = vault.get(record_id)  # row MAC checked
    if restriction_of(vault, rec.record_id) is not None:
        raise UsageError(f"record {rec.record_id} is already restricted")
    state = record_state(rec)
    if state in ("destroyed", "repaired", "removed"):
        raise UsageError(
            f"record {rec.record_id} is {state}; it is already out of every view",
            hint="a destroyed record is gone; a repaired or removed one is archived already",
        )
    r = Restriction(
        record_id=rec.record_id,
        subjects=rec.subjects,
        requested_by=requested_by,
        reason=reason,
        received=received,
        restricted_at=utc_text(now),
        restricted_by=session.actor.key_id,
    )
    with vault.transaction():
        if vault.store.restriction_row(rec.record_id) is not None:  # under the write lock
            raise UsageError(f"record {rec.record_id} was restricted meanwhile")
        vault.store.insert_restriction(
            (
                r.record_id,
                json.dumps(list(r.subjects)),
                r.requested_by,
                r.reason,
                r.received.isoformat(),
                r.restricted_at,
                r.restricted_by,
            )
        )
        vault.store.set_archived(rec.record_id, r.restricted_at)  # MAC checked and rewritten
        session.record(
            "restrict",
            objects={
                "ref": f"restriction:{r.record_id}",
                "record_ids": [r.record_id],
                "policy": policy.label,
            },
            why={
                "purpose": PURPOSE_RESTRICT,
                "basis": f"subject's deletion request received {received.isoformat()} "
                f"before retention ends: {reason}"[:500],
            },
            subjects=list(r.subjects),
        )
    return r
