"""Ingesting a submission package into the vault (docs/vault.md §5, §6).

One pass over the package: every record verified, its record key wrapped under the vault key,
its subjects turned into keyed pseudonyms (the clear identifier goes no further), rows written
in batches inside one transaction on both databases, and the ``ingest`` entry appended before
the commit. Idempotent per package id.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from xinan._codec import loads_strict
from xinan.access import Session
from xinan.crypto.recipes import SecretWrapper
from xinan.errors import (
    DuplicateRecord,
    InputError,
    IntegrityError,
    UsageError,
    VerificationError,
    XinanError,
)
from xinan.fileio import atomic_writer
from xinan.formats.ingest_rejects import HashingReader, RejectsWriter
from xinan.formats.package import (
    KeyedRecord,
    PackageInfo,
    open_package_keys,
    open_sealed_value,
    verify_package,
)
from xinan.keys import Identity, Keyring, Role
from xinan.masking import Pseudonymizer, pseudonym
from xinan.platform.ingest_check import Problem, RecordCheck, layout_problems
from xinan.platform.vault_config import _BATCH, FACT_KEYS, _b64, _t, today_cst
from xinan.platform.vault_core import VaultCore, _pack_blobs
from xinan.policy.catalogue import Policy, RecordKind, SubjectClass


@dataclass
class IngestSummary:
    package: str
    package_id: str
    kind: str
    sender: str
    sender_key_id: str
    records: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    subjects: int = 0
    already: bool = False
    in_package: int = 0  # records in the package = records (stored) + rejected
    rejected: int = 0
    rejects_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "package_id": self.package_id,
            "kind": self.kind,
            "sender": self.sender,
            "sender_key_id": self.sender_key_id,
            "records": self.records,
            "in_package": self.in_package,
            "rejected": self.rejected,
            "rejects_file": self.rejects_file,
            "classes": dict(self.classes),
            "subjects": self.subjects,
            "already_ingested": self.already,
        }


class _Refused(Exception):
    """Every record of the package was refused for its layout (raised to roll back)."""


class IngestOps(VaultCore):
    # -- §5 ingest -------------------------------------------------------------------------
    def ingest(
        self,
        package: Path,
        *,
        platform: Identity,
        keyring: Keyring,
        policy: Policy,
        pseudonymizer: Pseudonymizer,
        session: Session,
        now: datetime,
        rejects: Path | None = None,
    ) -> IngestSummary:
        """Verify, check and ingest one submission package (§5). Idempotent per package id.

        Records that fail the policy (§5.1) are not stored: they go to the signed rejects
        report (docs/ingest-rejects.md), which is also the platform's signed receipt for the
        package's bytes and is written for every ingest to ``rejects`` (default: the package's
        path with ``.rejects.jsonl`` appended). A layout the
        policy refuses rejects every record and raises InputError after the report is written.
        """
        self.check_policy(policy)
        self.check_pseudonym_key(pseudonymizer)
        kek = self._need_kek()
        head = _peek_header(package)
        pid = str(head.get("id", ""))
        ref = {"ref": f"file:{package.name}"}
        try:
            self._precheck(head, keyring)
        except XinanError:
            session.record("ingest", outcome="failed", objects={**ref, "policy": policy.label})
            raise
        row = self.store.package_summary(pid)
        if row is not None:
            with package.open("rb") as f:
                info = verify_package(f, trust=keyring.get_public)
            if _b64(info.records_digest) != row[0]:
                session.record("ingest", outcome="failed", objects={"package": pid})
                raise IntegrityError(
                    f"package {pid} was ingested before with different records",
                    hint="two packages under one id: ask the provider; nothing was changed",
                )
            stored = self.store.count_package_records(pid)
            return IngestSummary(
                str(package), pid, row[2], row[3], row[4], stored, already=True,
                in_package=row[1], rejected=row[1] - stored,
            )  # fmt: skip

        kind = policy.kind(str(head.get("kind", "")))
        sender = keyring.get_public(str(head["sender"]))
        summary = IngestSummary(str(package), pid, kind.name, sender.id, sender.key_id)
        layout = (_names(head, "clear"), _names(head, "sealed"))
        problems = layout_problems(policy, kind, *layout)
        check = (
            None
            if problems
            else RecordCheck(policy, kind, *layout, today=today_cst(now), file=package.name)
        )
        # ids and reasons only; closed below (the report is copied out once the outcome is known)
        spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
        report = RejectsWriter(
            spool,
            suite=self.suite,
            signer=platform,
            package=pid,
            vault=self.config.id,
            policy=policy.label,
            kind=kind.name,
            sender=sender.key_id,
            created=_t(now),
        )
        try:
            ins = _Inserter(self, kind, policy, pseudonymizer, kek, now, summary, check, report)
            ins.setup(*layout, refuse=problems[0] if problems else None)
            refused = False
            try:
                with self.store.both_transaction():
                    # The package row goes first (records reference it); its facts are completed
                    # from the verified package below, in the same transaction.
                    self.store.insert_package(
                        package_id=pid,
                        sender=sender.id,
                        sender_key_id=sender.key_id,
                        suite=self.config.suite.value,
                        kind=kind.name,
                        policy=self.config.policy_label,
                        clear_fields=layout[0],
                        sealed_fields=layout[1],
                        ingested_at=_t(now),
                        ingested_by=platform.key_id,
                    )
                    with package.open("rb") as raw:
                        hr = HashingReader(raw, self.suite)  # the receipt's package digest
                        info = open_package_keys(
                            cast("IO[bytes]", hr),
                            ins.add,
                            identity=platform,
                            trust=keyring.get_public,
                            spool_dir=None,
                        )
                        pkg_digest = hr.digest_of_the_rest()
                    ins.flush()
                    self._postcheck(info, head, kind)
                    if (info.clear_fields, info.sealed_fields) != layout:
                        raise IntegrityError("package changed while it was being ingested")
                    # stored + rejected = records in the package, or nothing is committed
                    counts = report.finish(
                        records=info.count, stored=summary.records, package_digest=pkg_digest
                    )
                    summary.in_package = info.count
                    summary.rejected = counts["rejected"]
                    summary.subjects = len(ins.subjects)
                    objects: dict[str, Any] = {
                        "package": info.package_id,
                        "policy": policy.label,
                        "key_ids": [info.sender],
                    }
                    if problems:
                        session.record(
                            "ingest",
                            outcome="failed",
                            objects={**objects, "counts": counts},
                            why={"purpose": "aggregation"},
                        )
                        raise _Refused
                    self.store.complete_package(
                        pid,
                        suite=info.suite.value,
                        created=info.created,
                        records_digest=_b64(info.records_digest),
                        count=info.count,
                    )
                    session.record(
                        "ingest",
                        objects={
                            **objects,
                            "counts": {
                                **counts,
                                "subjects": summary.subjects,
                                **summary.classes,
                            },
                        },
                        why={"purpose": "aggregation"},
                    )
            except _Refused:
                refused = True
            except DuplicateRecord:
                session.record("ingest", outcome="failed", objects={"package": pid})
                raise InputError(
                    f"package {pid}: a record id is already in the vault; nothing was ingested",
                    hint="record ids are unique across the vault; ask the provider",
                ) from None
            except XinanError:
                session.record("ingest", outcome="failed", objects={"package": pid} if pid else ref)
                raise
            # CONTROLS.md 16: the signed receipt is written for every ingest
            out = rejects or package.with_name(package.name + ".rejects.jsonl")
            spool.seek(0)
            # 0600: record ids and reasons are the provider's business (and a Spark job's
            # directory holds only owner-only files)
            with atomic_writer(out, binary=True, secret=True) as dst:
                shutil.copyfileobj(spool, dst)
            summary.rejects_file = str(out)
            if refused:
                said = "; ".join(f"{f}: {why}" for f, why in problems)
                raise InputError(
                    f"package {pid}: the policy refuses its columns — {said}; nothing was ingested",
                    hint=f"every record is listed with its reason in {summary.rejects_file}; the "
                    "provider must seal under the policy (xinan seal) and send a new package",
                )
        finally:
            spool.close()
        return summary

    def _precheck(self, head: dict[str, Any], keyring: Keyring) -> None:
        if head.get("audience") != "submission":
            raise VerificationError("only submission packages are ingested")
        pol = head.get("policy")
        label = f"{pol.get('id')}@{pol.get('version')}" if isinstance(pol, dict) else ""
        if label != self.config.policy_label:
            raise VerificationError(
                f"package follows policy {label or '?'}, the vault {self.config.policy_label}",
                hint="the provider must seal under the vault's policy version",
            )
        recips = head.get("recipients")
        ids = (
            [r.get("key_id") for r in recips if isinstance(r, dict)]
            if isinstance(recips, list)
            else []
        )
        if self.config.platform_key_id not in ids:
            raise VerificationError(
                f"package is not addressed to the vault's platform key {self.config.platform_id}"
            )
        sender = keyring.get_public(str(head.get("sender")))
        if sender.role is not Role.PROVIDER or sender.key_id != head.get("sender"):
            raise VerificationError(
                f"package sender {sender.id} has role {sender.role.value}, not provider"
            )

    def _postcheck(self, info: PackageInfo, head: dict[str, Any], kind: RecordKind) -> None:
        # The verified header must be the one pre-checked (the file could have changed).
        if (
            info.package_id != head.get("id")
            or info.audience != "submission"
            or f"{info.policy_id}@{info.policy_version}" != self.config.policy_label
            or info.kind != kind.name
            or info.sender != head.get("sender")
        ):
            raise IntegrityError("package changed while it was being ingested")


# ============================================================================================
# Ingest helpers
# ============================================================================================
def _names(head: dict[str, Any], key: str) -> tuple[str, ...]:
    v = head.get(key)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise VerificationError(f"package header: {key} must be a list of names")
    return tuple(v)


def _peek_header(path: Path) -> dict[str, Any]:
    """The header line as JSON, for early refusals only: the package's own reader checks it
    fully (and the ingest re-checks the verified header against this one)."""
    try:
        with path.open("rb") as f:
            line = f.readline(1 << 20)
    except OSError as e:
        raise UsageError(f"{path}: cannot read package ({e.strerror})") from None
    try:
        head = loads_strict(line)
    except ValueError:  # MalformedJSON
        raise VerificationError(f"{path}: not a package (header is not JSON)") from None
    if not isinstance(head, dict) or head.get("format") != "xinan-package/1":
        raise VerificationError(f"{path}: not a xinan-package/1 package")
    return head


class _Inserter:
    """The ingest sink: verified records → checked (§5.1) in batches → rows in both databases,
    or a line of the rejects report."""

    def __init__(
        self,
        vault: VaultCore,
        kind: RecordKind,
        policy: Policy,
        pskey: Pseudonymizer,
        kek: SecretWrapper,
        now: datetime,
        summary: IngestSummary,
        check: RecordCheck | None,
        report: RejectsWriter,
    ) -> None:
        self.v = vault
        self.kind = kind
        self.policy = policy
        self.pskey = pskey
        self.kek = kek
        self.now = _t(now)
        self.summary = summary
        self.check = check
        self.report = report
        self.pending: list[tuple[KeyedRecord, tuple[str, ...]]] = []
        self._mac = vault.row_mac_function()  # §3.1: each row carries its MAC
        self.subjects: set[str] = set()
        self._ns = policy.settings.pseudonym_namespace
        self._class_table = policy.subject_classes
        self._fixed = {"natural": SubjectClass.NATURAL, "legal": SubjectClass.LEGAL}.get(
            kind.subject
        )

    def setup(
        self, clear_f: tuple[str, ...], sealed_f: tuple[str, ...], *, refuse: Problem | None
    ) -> None:
        self.refuse = refuse
        self.sealed_f = sealed_f
        self.clear_pos = {n: i for i, n in enumerate(clear_f)}
        self.sealed_pos = {n: i for i, n in enumerate(sealed_f)}
        self.fact_pos: list[int | None] = []
        for key in FACT_KEYS.values():
            try:
                name = self.kind.field(key).name
            except KeyError:
                self.fact_pos.append(None)
                continue
            self.fact_pos.append(self.clear_pos.get(name))
        cf = self.kind.class_field
        self.class_pos = self.clear_pos.get(cf) if cf else None
        if refuse is None and self._fixed is None and self.class_pos is None:
            raise InputError(f"package of kind {self.kind.name} lacks its class field {cf!r}")

    def add(self, kr: KeyedRecord) -> None:
        if self.refuse is not None:  # the layout is refused: every record is reported
            self.report.reject(kr.position + 1, kr.record_id, *self.refuse)
            return
        # the sealed values, opened in memory for the check and the pseudonyms (never stored)
        values = []
        for i, name in enumerate(self.sealed_f):
            blob, fk = kr.blobs[i], kr.field_keys[i]
            if blob is None or fk is None:  # pragma: no cover - a submission carries them all
                raise IntegrityError(f"record {kr.record_id!r}: a sealed value is missing")
            values.append(
                open_sealed_value(
                    self.v.suite,
                    blob,
                    fk,
                    package_id=kr.source_package_id,
                    record_id=kr.record_id,
                    field_name=name,
                )
            )
        self.pending.append((kr, tuple(values)))
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        if self.check is None:  # pragma: no cover - add() keeps nothing when refusing
            raise IntegrityError("records pending without a record check")
        bad = {
            i: (f, why)
            for i, f, why in self.check.check([kr.clear for kr, _ in batch], [v for _, v in batch])
        }
        rows: list[tuple[Any, ...]] = []
        subj_rows: list[tuple[str, str]] = []
        key_rows: list[tuple[str, bytes]] = []
        for i, (kr, sealed) in enumerate(batch):
            if i in bad:
                self.report.reject(kr.position + 1, kr.record_id, *bad[i])
                continue
            row, subjects, wrapped = self._row(kr, sealed)
            rows.append(row)
            key_rows.append((kr.record_id, wrapped))
            subj_rows.extend((p, kr.record_id) for p in subjects)
            self.subjects.update(subjects)
        del batch
        if rows:
            self.v.store.insert_records(rows, subj_rows, key_rows)

    def _row(
        self, kr: KeyedRecord, sealed: tuple[str, ...]
    ) -> tuple[tuple[Any, ...], list[str], bytes]:
        rid = kr.record_id
        clear = kr.clear
        # the check accepted the subject class (one of the policy's)
        if self._fixed is not None:  # noqa: SIM108
            cls = self._fixed
        else:
            cls = self._class_table[clear[self.class_pos]]  # type: ignore[index]
        subjects: list[str] = []
        for f in self.kind.subject_fields:
            if f in self.sealed_pos:
                value = sealed[self.sealed_pos[f]]
            elif f in self.clear_pos:
                value = clear[self.clear_pos[f]]
            else:
                continue
            if value.strip():
                p = pseudonym(self.pskey, self._ns, value)
                if p not in subjects:
                    subjects.append(p)
            del value  # the clear identifier goes no further
        if kr.record_key is None:  # pragma: no cover - submissions always carry record keys
            raise IntegrityError(f"record {rid!r}: no record key")
        wrapped = self.kek.wrap(kr.record_key, self.v._rk_aad(rid))
        facts = [None if p is None or not clear[p] else clear[p] for p in self.fact_pos]
        # RECORD_COLUMNS order (xinan.platform.store.records.MAC_COLUMNS), the row MAC last
        values = (
            rid,
            kr.source_package_id,
            self.kind.name,
            cls.value,
            json.dumps(subjects),
            json.dumps(list(clear), ensure_ascii=False),
            _pack_blobs(kr.blobs),
            *facts,  # decision_date, severity, valid_until, declared_end
            None,  # end_of_act
            None,  # domains
            None,  # disputed_at
            None,  # repaired_at
            None,  # archived_at
            None,  # destroyed_at
            kr.position,
            self.policy.label,
            self.now,
        )
        row = (*values, self._mac(values))
        self.summary.records += 1
        self.summary.classes[cls.value] = self.summary.classes.get(cls.value, 0) + 1
        return row, subjects, wrapped
