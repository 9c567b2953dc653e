"""Personal-information protection impact assessments (个人信息保护影响评估, PIA) at rest, and the
basis a consent for consent-gated sensitive fields needs (docs/lifecycle.md §9; CONTROLS.md 29).

PIPL art. 55 asks for a PIA before processing sensitive personal information (and before
providing it to others); art. 56 ¶3 keeps the report and the processing record **at least three
years**. 征信业管理条例 art. 14 ¶2 lets income and similar items be collected only with the
subject's written consent. xinan therefore keeps:

* a ``pias`` row per assessment — purpose, the catalogue fields it covers, the report's
  reference, its conclusion, the day it was made, who recorded it, and ``keep_until`` (three
  years after the assessment) — added by the security administrator and logged
  (``policy.pia-add``);
* the link of each consent to its PIA or to a legal basis (``consent_bases``): a consent that
  covers a consent-gated field (the policy's ``consent_gated``, e.g. 个人年收入) is refused
  unless it names a PIA that covers that purpose and those fields, or a legal basis;
* ``purge``: deletes PIAs whose ``keep_until`` has passed, and refuses — logged — any younger
  one named, and any still linked to a consent that has not ended.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xinan.access import Session
from xinan.errors import AccessDenied, UsageError
from xinan.platform.lifecycle_common import check_text, utc_text
from xinan.platform.vault import Vault, resolve_fields
from xinan.policy.catalogue import Policy

PIA_KEEP_YEARS = 3  # PIPL art. 56 ¶3: kept at least three years


@dataclass(frozen=True)
class Pia:
    id: str
    purpose: str
    fields: tuple[str, ...]
    ref: str  # the report's reference (a document number), never a clear identifier
    conclusion: str
    assessed_on: date
    created_at: str
    created_by: str
    keep_until: date

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "purpose": self.purpose,
            "fields": list(self.fields),
            "ref": self.ref,
            "conclusion": self.conclusion,
            "assessed_on": self.assessed_on.isoformat(),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "keep_until": self.keep_until.isoformat(),
        }


def keep_until(assessed_on: date) -> date:
    """The last day a PIA must be kept: three years after it was made (29 Feb → 28 Feb)."""
    try:
        return assessed_on.replace(year=assessed_on.year + PIA_KEEP_YEARS)
    except ValueError:
        return assessed_on.replace(year=assessed_on.year + PIA_KEEP_YEARS, day=28)


def _pia(r: Sequence[Any]) -> Pia:
    return Pia(
        id=str(r[0]),
        purpose=str(r[1]),
        fields=tuple(json.loads(r[2])),
        ref=str(r[3]),
        conclusion=str(r[4]),
        assessed_on=date.fromisoformat(r[5]),
        created_at=str(r[6]),
        created_by=str(r[7]),
        keep_until=date.fromisoformat(r[8]),
    )


def get_pia(vault: Vault, pia_id: str) -> Pia:
    r = vault.store.pia_row(pia_id)
    if r is None:
        raise UsageError(f"no PIA {pia_id!r} in the vault", hint="xinan pia list")
    return _pia(r)


def list_pias(vault: Vault) -> list[Pia]:
    return [_pia(r) for r in vault.store.pia_rows()]


def add_pia(
    vault: Vault,
    policy: Policy,
    *,
    purpose: str,
    fields: Sequence[str],
    ref: str,
    conclusion: str,
    assessed_on: date,
    session: Session,
    now: datetime,
    today: date,
) -> Pia:
    """Record a PIA (logged ``policy.pia-add`` before the commit)."""
    vault.check_policy(policy)
    if assessed_on > today:
        raise UsageError(f"--assessed {assessed_on} is in the future")
    p = Pia(
        id="p" + secrets.token_hex(13),
        purpose=check_text(purpose, "--purpose", today=today),
        fields=resolve_fields(policy, fields),
        ref=check_text(ref, "--ref", today=today),
        conclusion=check_text(conclusion, "--conclusion", today=today),
        assessed_on=assessed_on,
        created_at=utc_text(now),
        created_by=session.actor.key_id,
        keep_until=keep_until(assessed_on),
    )
    vault.store.ensure_lifecycle_tables()
    with vault.transaction():
        vault.store.insert_pia(
            (
                p.id,
                p.purpose,
                json.dumps(list(p.fields), ensure_ascii=False),
                p.ref,
                p.conclusion,
                p.assessed_on.isoformat(),
                p.created_at,
                p.created_by,
                p.keep_until.isoformat(),
            )
        )
        session.record(
            "policy.pia-add",
            objects={"ref": f"pia:{p.id}", "policy": policy.label, "fields": list(p.fields)},
            why={
                "purpose": p.purpose,
                "basis": f"PIA {p.ref} of {p.assessed_on}, kept until {p.keep_until}"[:500],
            },
        )
    return p


def consent_basis(
    vault: Vault,
    policy: Policy,
    *,
    purpose: str,
    fields: Sequence[str],
    pia_id: str | None,
    basis: str | None,
    today: date,
) -> tuple[str | None, str | None]:
    """What a new consent for ``fields`` stands on: ``(pia_id, basis)``. A consent that covers a
    consent-gated field (the policy's ``consent_gated``) needs a PIA covering the same purpose
    and fields, made on or before today and not purged, or a legal basis; else AccessDenied."""
    vault.store.ensure_lifecycle_tables()  # the consent's basis is written in its transaction
    gated = sorted(
        {
            f.name
            for k in policy.kinds.values()
            for f in k.fields
            if f.consent_gated and f.name in fields
        }
    )
    if basis is not None:
        basis = check_text(basis, "--basis", today=today)
    if pia_id is not None:
        pia = get_pia(vault, pia_id)
        missing = [f for f in fields if f not in pia.fields]
        if pia.purpose != purpose or missing:
            raise AccessDenied(
                f"PIA {pia.id} covers {pia.purpose!r} and {', '.join(pia.fields)}; the consent "
                f"is for {purpose!r}" + (f" and {', '.join(missing)}" if missing else ""),
                rule="pia:scope",
                hint="assess this purpose and these fields first: xinan pia add",
            )
        if pia.assessed_on > today:  # pragma: no cover - add_pia refuses future dates
            raise AccessDenied(f"PIA {pia.id} is dated after today", rule="pia:date")
    if gated and pia_id is None and not basis:
        raise AccessDenied(
            f"{', '.join(gated)} is consent-gated sensitive personal information: the consent "
            "needs a PIA (个人信息保护影响评估, PIPL art. 55) or a legal basis",
            rule="pia:required",
            hint="pass --pia ID (xinan pia add) or --basis TEXT (the law that allows it)",
        )
    return pia_id, basis


def purge_pias(
    vault: Vault, *, ids: Sequence[str], session: Session, now: datetime, today: date
) -> list[str]:
    """Delete the PIAs past their three years (``ids``: just these; empty: every one due).
    A younger one named, or one a consent still in force stands on, is refused — the refusal
    logged — and nothing is deleted."""
    pias = {p.id: p for p in list_pias(vault)}
    for pid in ids:
        if pid not in pias:
            raise UsageError(f"no PIA {pid!r} in the vault", hint="xinan pia list")
    named = [pias[i] for i in ids] if ids else list(pias.values())
    young = [p for p in named if p.keep_until >= today]
    in_use = [p for p in named if vault.store.pia_in_use(p.id, utc_text(now))]
    if ids and (young or in_use):
        why = ", ".join(
            [f"{p.id} is kept until {p.keep_until}" for p in young]
            + [f"{p.id} backs a consent still in force" for p in in_use]
        )
        session.record(
            "policy.pia-purge",
            outcome="denied",
            objects={"ref": "pia:purge", "counts": {"refused": len(young) + len(in_use)}},
            why={"basis": f"refused: {why} (PIPL art. 56: at least {PIA_KEEP_YEARS} years)"[:500]},
        )
        raise AccessDenied(
            f"not purged: {why}",
            rule="pia:retention",
            hint=f"a PIA is kept at least {PIA_KEEP_YEARS} years (PIPL art. 56)",
        )
    due = [p.id for p in named if p not in young and p not in in_use]
    if not due:
        return []
    with vault.transaction():
        vault.store.delete_pias(due)
        session.record(
            "policy.pia-purge",
            objects={"ref": "pia:purge", "counts": {"pias": len(due)}},
            why={"basis": f"kept {PIA_KEEP_YEARS} years (PIPL art. 56): " + ", ".join(due)[:400]},
        )
    return due
