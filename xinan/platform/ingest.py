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

from xinan import progress
from xinan._codec import loads_strict
from xinan.access import Session
from xinan.crypto.recipes import SecretWrapper
from xinan.engine.workers import default_workers
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
    OpenedPackage,
    PackageInfo,
    open_blocks,
    open_sealed_value,
    verify_package,
)
from xinan.formats.package.stream import KEYS, batch_records
from xinan.keys import Identity, Keyring, Role
from xinan.masking import Pseudonymizer, pseudonym
from xinan.platform.ingest_check import Problem, RecordCheck, layout_problems
from xinan.platform.vault_config import FACT_KEYS, _b64, _t, today_cst
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
    # records in the package = records (held) + destroyed + rejected; destroyed is 0 but for
    # a package ingested before whose records were destroyed since
    in_package: int = 0
    rejected: int = 0
    destroyed: int = 0
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
            "destroyed": self.destroyed,
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
        workers: int | None = None,
    ) -> IngestSummary:
        """Verify, check and ingest one submission package (§5). Idempotent per package id.
        ``workers`` processes (default: every core) verify, open and check the records; this
        one writes them, in package order, so the vault is the same for any number.

        Records that fail the policy (§5.1) are not stored: they go to the signed rejects
        report (docs/ingest-rejects.md), which is also the platform's signed receipt for the
        package's bytes and is written for every ingest to ``rejects`` (default: the package's
        path with ``.rejects.jsonl`` appended). A layout the
        policy refuses rejects every record and raises InputError after the report is written.
        """
        self.check_policy(policy)
        self.check_pseudonym_key(pseudonymizer)
        nworkers = default_workers() if workers is None else max(1, workers)
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
            try:
                with package.open("rb") as f:
                    info = verify_package(f, trust=keyring.get_public)
            except XinanError:  # a refused attempt is on record too (8.1.4.3)
                session.record("ingest", outcome="failed", objects={"package": pid})
                raise
            if _b64(info.records_digest) != row[0]:
                session.record("ingest", outcome="failed", objects={"package": pid})
                raise IntegrityError(
                    f"package {pid} was ingested before with different records",
                    hint="two packages under one id: ask the provider; nothing was changed",
                )
            # what the vault holds of it now (docs/vault.md §5 step 2): the summary of a second
            # ingest is not an empty one, and a record destroyed since is counted as
            # destroyed, not as held (its row is a tombstone) nor as rejected
            held = self.store.count_package_records(pid)
            destroyed = self.store.count_package_destroyed(pid)
            return IngestSummary(
                str(package), pid, row[2], row[3], row[4], held, already=True,
                in_package=row[1], rejected=row[1] - held - destroyed, destroyed=destroyed,
                classes=self.store.count_package_classes(pid),
                subjects=self.store.count_package_subjects(pid),
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
                        with open_blocks(
                            cast("IO[bytes]", hr),
                            identity=platform,
                            trust=keyring.get_public,
                            workers=nworkers,
                            keys=True,
                        ) as opened:
                            pkg_digest = hr.digest_of_the_rest()
                            info = opened.info
                            ins.run(opened, nworkers)
                    self._postcheck(info, head, kind)
                    if (info.clear_fields, info.sealed_fields) != layout:
                        raise IntegrityError("package changed while it was being ingested")
                    # stored + rejected = records in the package, or nothing is committed
                    counts = report.finish(
                        records=info.count, stored=summary.records, package_digest=pkg_digest
                    )
                    summary.in_package = info.count
                    summary.rejected = counts["rejected"]
                    summary.subjects = self.store.count_package_subjects(pid)
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


@dataclass
class _Done:
    """What one block of the package became (in a worker): rows for both databases and the
    records refused, each with its place in the package, field and reason. No plaintext."""

    rows: list[tuple[Any, ...]]
    subjects: list[tuple[str, str]]
    keys: list[tuple[str, bytes]]
    rejects: list[tuple[int, str, str | None, str]]
    classes: dict[str, int]


class _Inserter:
    """The ingest of verified records: each block checked (§5.1) and turned into rows for both
    databases, or lines of the rejects report (:meth:`process`, pure: it runs in the worker
    processes); then written here, in package order (:meth:`take`)."""

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
        self.suite = vault.suite
        self.kind = kind
        self.policy = policy
        self.pskey = pskey
        self.kek = kek
        self.now = _t(now)
        self.summary = summary
        self.check = check
        self.report = report
        self._mac = vault.row_mac_function()  # §3.1: each row carries its MAC
        self._rk_aad = vault._rk_aad
        self._ns = policy.settings.pseudonym_namespace
        self._class_table = policy.subject_classes
        self._fixed = {"natural": SubjectClass.NATURAL, "legal": SubjectClass.LEGAL}.get(
            kind.subject
        )
        self._ctx: Any = None

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

    # -- in the workers ----------------------------------------------------------------------
    def process(self, batch: Any) -> _Done:
        """One verified block (keys and raw blobs, :meth:`OpenedPackage.batches`) → rows."""
        records = list(batch_records(self._ctx, batch, KEYS))
        done = _Done([], [], [], [], {})
        if self.refuse is not None:  # the layout is refused: every record is reported
            done.rejects = [(kr.position + 1, kr.record_id, *self.refuse) for kr in records]
            return done
        if self.check is None:  # pragma: no cover - setup() keeps a check unless refusing
            raise IntegrityError("records pending without a record check")
        # the sealed values, opened in memory for the check and the pseudonyms (never stored)
        opened = [self._open_values(kr) for kr in records]
        bad = {i: (f, why) for i, f, why in self.check.check([kr.clear for kr in records], opened)}
        for i, (kr, sealed) in enumerate(zip(records, opened, strict=True)):
            if i in bad:
                done.rejects.append((kr.position + 1, kr.record_id, *bad[i]))
                continue
            row, subjects, wrapped, cls = self._row(kr, sealed)
            done.rows.append(row)
            done.keys.append((kr.record_id, wrapped))
            done.subjects.extend((p, kr.record_id) for p in subjects)
            done.classes[cls] = done.classes.get(cls, 0) + 1
        return done

    def _open_values(self, kr: KeyedRecord) -> tuple[str, ...]:
        values = []
        for i, name in enumerate(self.sealed_f):
            blob, fk = kr.blobs[i], kr.field_keys[i]
            if blob is None or fk is None:  # pragma: no cover - a submission carries them all
                raise IntegrityError(f"record {kr.record_id!r}: a sealed value is missing")
            values.append(
                open_sealed_value(
                    self.suite,
                    blob,
                    fk,
                    package_id=kr.source_package_id,
                    record_id=kr.record_id,
                    field_name=name,
                )
            )
        return tuple(values)

    def _row(
        self, kr: KeyedRecord, sealed: tuple[str, ...]
    ) -> tuple[tuple[Any, ...], list[str], bytes, str]:
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
        wrapped = self.kek.wrap(kr.record_key, self._rk_aad(rid))
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
        return (*values, self._mac(values)), subjects, wrapped, cls.value

    # -- here, in package order ----------------------------------------------------------------
    def take(self, done: _Done) -> None:
        # rows and rejects of one block interleave by position; the report lists rejects in order
        for position, rid, field_name, why in done.rejects:
            self.report.reject(position, rid, field_name, why)
        if done.rows:
            self.v.store.insert_records(done.rows, done.subjects, done.keys)
        self.summary.records += len(done.rows)
        for cls, n in done.classes.items():
            self.summary.classes[cls] = self.summary.classes.get(cls, 0) + n

    def run(self, opened: OpenedPackage, workers: int) -> None:
        """Every block of ``opened``, processed on ``workers`` cores and written in order."""
        global _INSERTER  # noqa: PLW0603 - the workers are forked from this state
        self._ctx = opened._ctx
        _INSERTER = self
        meter = progress.start("records stored", total=opened.info.count)
        try:
            for done in opened.map_batches(_process_block, workers=workers):
                self.take(done)
                if meter is not None:
                    meter.add(len(done.rows) + len(done.rejects))
        finally:
            _INSERTER = None
        if meter is not None:
            meter.end()


_INSERTER: _Inserter | None = None  # the ingest the workers fork from (holds keys: never pickled)


def _process_block(batch: Any) -> _Done:
    if _INSERTER is None:  # pragma: no cover - internal misuse
        raise IntegrityError("ingest: no inserter in this worker")
    return _INSERTER.process(batch)
