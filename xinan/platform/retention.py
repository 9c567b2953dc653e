"""(2) The platform's destruction job: which records are due, and crypto-shredding them.

This module owns the order of a destruction (docs/destruction.md §2): select the records
(past their retention on a date, or named by a security administrator with a reason), take
the digests of what will be destroyed, shred the key store with the audit entry written
inside the same transaction (nothing is destroyed unless the entry is durable), tombstone the
sealed data, and sign a destruction certificate that names the audit entry. The certificate
format and the shredding primitives are :mod:`xinan.platform.destruction`'s; the retention rule is
:mod:`xinan.policy.periods`'s; the store is :mod:`xinan.platform.vault`'s.

Destroying needs no key: the record key is gone once its key-store row is shredded, and with it
every field key derived from it — in this vault, in its backups and in any share package that
was not opened yet (per-record release). What a querent already opened cannot be recalled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from xinan.access import Session
from xinan.errors import UsageError
from xinan.fileio import write_bytes_atomic
from xinan.platform.destruction import (
    DestroyedRecord,
    Destruction,
    Rule,
    audit_reference,
    build_certificate,
    plan_destruction,
    sign_certificate,
)
from xinan.platform.vault import StoredRecord, Vault
from xinan.policy.catalogue import Policy
from xinan.policy.periods import PenaltyFacts, retention_end, severity_from_label

MAX_PER_CERTIFICATE = 10_000  # an audit entry lists at most 10,000 record ids


def facts_of(rec: StoredRecord, policy: Policy) -> PenaltyFacts | None:
    """The life-cycle facts the vault keeps for a record; None for kinds without a decision
    date (licences, basic information), which no retention rule deletes automatically."""
    f = rec.facts
    if not f.get("decision_date") or policy.lifecycle is None:
        return None

    def day(key: str) -> date | None:
        v = f.get(key)
        return date.fromisoformat(v) if v else None

    raw_domains = f.get("domains")
    domains = frozenset(json.loads(raw_domains)) if raw_domains else frozenset()
    return PenaltyFacts(
        decision_date=date.fromisoformat(str(f["decision_date"])),
        severity=severity_from_label(f.get("severity"), policy.lifecycle.disclosure),
        domains=domains,
        end_of_act=day("end_of_act"),
        valid_until=day("valid_until"),
        declared_end=day("declared_end"),
    )


@dataclass(frozen=True)
class DueRecord:
    record: StoredRecord
    keep_until: date | None


def expired_records(vault: Vault, policy: Policy, as_of: date) -> Iterator[DueRecord]:
    """Records past their retention on ``as_of`` (kept through ``keep_until``, deleted after)."""
    if policy.lifecycle is None:
        raise UsageError("the policy has no [retention] table", hint="use a xinan-policy/2 policy")
    for rec in vault.records():
        if rec.status.get("destroyed_at"):
            continue
        facts = facts_of(rec, policy)
        if facts is None:
            continue
        decision = retention_end(facts, policy.lifecycle)
        if decision.keep_until is not None and decision.expired(as_of):
            yield DueRecord(rec, decision.keep_until)


@dataclass
class DestroyResult:
    certificates: list[Path] = field(default_factory=list)
    certificate_ids: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    audit_seqs: list[int] = field(default_factory=list)


def _chunks(items: Sequence[DueRecord], n: int) -> Iterator[Sequence[DueRecord]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def destroy(
    vault: Vault,
    session: Session,
    due: Sequence[DueRecord],
    *,
    rule: Rule,
    log_path: Path,
    now: datetime,
    out: Path | None = None,
) -> DestroyResult:
    """Crypto-shred ``due`` and write one signed certificate per 10,000 records.

    Order per chunk: digests → plan → shred the key store, with the audit entry appended
    before its COMMIT → tombstone the data rows → certificate (to ``out`` when there is one
    chunk, else under ``<vault>/destruction/``).
    """
    if session.identity is None:
        raise UsageError("destroying needs the security administrator's unlocked key")
    if rule.kind == "retention" and rule.as_of is not None and rule.as_of > now.date():
        # docs/destruction.md §2: as_of MUST NOT be later than today — a future date would
        # destroy records before their retention ends, and deletion cannot be undone
        raise UsageError(
            f"--as-of {rule.as_of} is after today ({now.date()}): records would be destroyed "
            "before their retention ends",
            hint="destroy on or after the day retention ends; omit --as-of for today",
        )
    result = DestroyResult()
    store = vault.store
    hash_name = vault.suite.hash_name
    chunks = list(_chunks(list(due), MAX_PER_CERTIFICATE))
    for chunk in chunks:
        ids = [d.record.record_id for d in chunk]
        sealed, wrapped = store.destruction_digests(ids, hash=hash_name)
        records = []
        for d in chunk:
            rid = d.record.record_id
            digests = {"sealed": sealed[rid]} if rid in sealed else {}
            if rid in wrapped:
                digests["record_key"] = wrapped[rid]
            for share_id, blob in store.release_secrets_of(rid):
                digests[f"release:{share_id}"] = vault.suite.digest(blob)
            records.append(
                DestroyedRecord(
                    record_id=rid,
                    package_id=d.record.package_id,
                    kind=d.record.kind,
                    subjects=tuple(sorted(set(d.record.subjects))),
                    digests=digests,
                    keep_until=d.keep_until if rule.kind == "retention" else None,
                )
            )
        plan = plan_destruction(
            vault_id=vault.config.id, records=records, rule=rule, destroyer=session.actor
        )
        seqs: list[int] = []

        def record_before_commit(
            _r: object, plan: Destruction = plan, seqs: list[int] = seqs
        ) -> None:
            seqs.append(session.record(**plan.audit_event()))

        # 1. the keys: once these rows are gone nothing opens the records, anywhere
        store.shred_record_keys(ids, before_commit=record_before_commit)
        # 2. the data: ciphertexts overwritten; the id stays as a tombstone (destroyed_at)
        store.shred_record_data(ids, destroyed_at=now.isoformat())
        cert = build_certificate(plan, audit_reference(log_path, seqs[0]))
        data = sign_certificate(cert, session.identity)
        dest = (
            out
            if (out is not None and len(chunks) == 1)
            else (vault.path / "destruction" / f"{cert.id}.json")
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(dest, data)
        result.certificates.append(dest)
        result.certificate_ids.append(cert.id)
        result.records.extend(ids)
        result.audit_seqs.extend(seqs)
    return result
