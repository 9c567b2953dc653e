"""Offline verification of an audit log (docs/audit-log.md §9).

Owns :func:`verify_log`: one streaming pass over the log (two hashes per entry), every
checkpoint's signature and root, the trusted checkpoint, and the naming and localisation of
each violation. Reads only: it never writes to any file of the log.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xinan.audit.checkpoint import Checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.errors import VIOLATION_ORDER
from xinan.audit.merkle import CompactRange, HashAlgorithm, get_hash, root_from_frontier
from xinan.audit.note import NoteVerifier, open_note, parse_note
from xinan.audit.sidecar import (
    CheckpointRecord,
    Intent,
    IntentRecord,
    read_prune_state,
    read_sidecar_records,
)
from xinan.crypto.recipes import HASH_NAMES, hash_constructor
from xinan.errors import (
    AuditError,
    AuditViolation,
    BadSignature,
    EntriesMissing,
    EntriesReordered,
    EntryModified,
    IntegrityError,
    LogForked,
    LogRolledBack,
    LogTruncated,
    NoteError,
    SignatureMissing,
    TornTail,
    UncoveredEntries,
    UnsignedEntries,
    UsageError,
)

__all__ = ["Report", "verify_log"]

CHUNK = 16 << 20


@dataclass
class Report:
    """What :func:`verify_log` checked and found."""

    path: str
    origin: str | None = None
    hash: str = "sha256"
    size: int = 0  # entries ever written and present (pruned ones included in the count)
    pruned: int = 0
    root: bytes = b""
    checkpoints: int = 0
    signatures_checked: int = 0
    latest_checkpoint: str | None = None
    trusted_size: int | None = None
    violations: list[AuditViolation] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # signed notes kept as evidence

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "log": self.path,
            "origin": self.origin,
            "hash": self.hash,
            "size": self.size,
            "pruned": self.pruned,
            "root": base64.b64encode(self.root).decode(),
            "checkpoints": self.checkpoints,
            "signatures_checked": self.signatures_checked,
            "trusted_size": self.trusted_size,
            "violations": [v.to_json() for v in self.violations],
            "evidence": self.evidence,
        }


@dataclass
class _Cp:
    record: CheckpointRecord | None
    cp: Checkpoint
    note: bytes
    valid: bool


def _fast_leaf(h: HashAlgorithm) -> Any:
    if h.name in HASH_NAMES:
        # the hash constructor inline: no Python frame per leaf (SHA-256 and SM3 alike)
        new = hash_constructor(h.name)
        return lambda lines: [new(b"\x00" + x).digest() for x in lines]
    leaf = h.leaf
    return lambda lines: [leaf(x) for x in lines]


def _reduce(h: HashAlgorithm, hashes: list[bytes]) -> bytes:
    """Root of a complete block of 2^k leaf hashes, level by level (fast comprehensions)."""
    if h.name not in HASH_NAMES:
        node = h.node
        while len(hashes) > 1:
            it = iter(hashes)
            hashes = [node(a, b) for a, b in zip(it, it, strict=True)]
        return hashes[0]
    new = hash_constructor(h.name)
    while len(hashes) > 1:
        it = iter(hashes)
        hashes = [new(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)]
    return hashes[0]


def _feed(
    h: HashAlgorithm,
    cr: CompactRange,
    hashes: list[bytes],
    marks: list[int],
    roots: dict[int, bytes],
) -> None:
    """Append ``hashes`` to ``cr`` in aligned blocks; record the root at each mark size."""
    i, n = 0, len(hashes)
    while i < n:
        while marks and marks[-1] <= cr.size:
            roots[marks.pop()] = cr.root()
        limit = n - i if not marks else min(n - i, marks[-1] - cr.size)
        align = (cr.size & -cr.size) if cr.size else 1 << 62
        k = min(align, 1 << (limit.bit_length() - 1))
        level = k.bit_length() - 1
        cr.push_block(level, hashes[i] if k == 1 else _reduce(h, hashes[i : i + k]))
        i += k
    while marks and marks[-1] <= cr.size:
        roots[marks.pop()] = cr.root()


def _open_cp(note: bytes, keys: Sequence[NoteVerifier]) -> tuple[Checkpoint, bool]:
    """Parse a checkpoint (NoteError if unparseable) and say whether its signature holds."""
    n = parse_note(note)
    cp = Checkpoint.parse(n.text)
    if not keys:
        return cp, False
    try:
        open_note(n, keys)
    except IntegrityError:
        return cp, False
    return cp, True


def verify_log(
    path: str | Path,
    *,
    keys: Sequence[NoteVerifier],
    witnesses: Sequence[NoteVerifier] = (),
    trusted_checkpoint: bytes | None = None,
) -> Report:
    """Verify the log at ``path`` against the log ``keys`` (docs/audit-log.md §9).

    ``trusted_checkpoint`` is a signed checkpoint the auditor kept from before; every key in
    ``witnesses`` must have cosigned it. Returns the :class:`Report` when everything holds;
    otherwise raises the first violation (in the documented order) with ``.report`` set.
    """
    p = Path(path)
    report = Report(str(p))
    if not p.is_file():
        raise AuditError(f"{p}: no such audit log", hint="pass LOG or --audit-log")
    v = report.violations

    # 1. checkpoints in the sidecar -------------------------------------------------------------
    side = Path(str(p) + ".checkpoints")
    try:
        all_records, torn_side = read_sidecar_records(side)
    except NoteError as exc:
        all_records, torn_side = [], None
        v.append(BadSignature(f"checkpoint sidecar unreadable: {exc.message}"))
    records = [r for r in all_records if isinstance(r, CheckpointRecord)]
    intents = _open_intents([r for r in all_records if isinstance(r, IntentRecord)], keys, v)
    if torn_side is not None:
        v.append(
            TornTail(
                f"{p}.checkpoints: torn last record at byte {torn_side}",
                data={"file": f"{p}.checkpoints", "offset": torn_side},
            )
        )
    if not keys:
        v.append(
            SignatureMissing(
                "no log key given: signatures cannot be checked",
                hint="pass the log's verifier key with --key",
            )
        )
    cps: list[_Cp] = []
    for rec in records:
        try:
            cp, ok = _open_cp(rec.note, keys)
        except NoteError:
            v.append(
                BadSignature(
                    f"checkpoint record {rec.index} is malformed", data={"record": rec.index}
                )
            )
            continue
        report.signatures_checked += 1
        if not ok and keys:
            v.append(
                BadSignature(
                    f"checkpoint record {rec.index} (size {cp.size}) is not validly signed "
                    "by the log key",
                    data={"record": rec.index, "size": cp.size},
                )
            )
        cps.append(_Cp(rec, cp, rec.note, ok))
    report.checkpoints = len(cps)
    origins = {c.cp.origin for c in cps if c.valid}
    if len(origins) > 1:
        v.append(BadSignature(f"checkpoints name several logs: {sorted(origins)}"))
    if cps:
        report.origin = cps[-1].cp.origin
        report.hash = cps[-1].cp.hash_name

    # trusted checkpoint
    trusted: Checkpoint | None = None
    if trusted_checkpoint is not None:
        try:
            tn = parse_note(trusted_checkpoint)
            tcp: Checkpoint | None = Checkpoint.parse(tn.text)
        except IntegrityError:
            tcp = None
            v.append(BadSignature("trusted checkpoint is malformed"))
        if tcp is not None and keys:
            try:
                open_note(tn, keys, required=witnesses)
                trusted = tcp
            except IntegrityError as exc:
                v.append(BadSignature(f"trusted checkpoint does not verify: {exc.message}"))
        elif tcp is not None:
            trusted = tcp  # no keys: SignatureMissing is already reported
        if trusted is not None:
            report.trusted_size = trusted.size
            if report.origin is None:
                report.origin, report.hash = trusted.origin, trusted.hash_name
            elif trusted.origin != report.origin:
                v.append(
                    BadSignature(
                        f"trusted checkpoint is for log {trusted.origin!r}, not {report.origin!r}"
                    )
                )
                trusted = None
    h = get_hash(report.hash)

    # 2. prune record ---------------------------------------------------------------------------
    pruned, frontier = 0, tuple[bytes, ...]()
    try:
        state = read_prune_state(p)
    except NoteError:
        state = None
        v.append(BadSignature(f"{p}.pruned is malformed"))
    if state is not None:
        try:
            pcp, ok = _open_cp(state.note, keys)
        except NoteError:
            pcp, ok = None, False
        if (
            pcp is None
            or pcp.size != state.size
            or root_from_frontier(state.frontier, h) != pcp.root
        ):
            v.append(BadSignature(f"{p}.pruned: frontier does not match its checkpoint"))
        elif not ok and keys:
            v.append(BadSignature(f"{p}.pruned: checkpoint not validly signed"))
        pruned, frontier = state.size, state.frontier
    report.pruned = pruned

    # 3. one pass over the log ------------------------------------------------------------------
    marks = sorted(
        {c.cp.size for c in cps if c.cp.size >= pruned}
        | ({trusted.size} if trusted is not None and trusted.size >= pruned else set()),
        reverse=True,
    )
    roots: dict[int, bytes] = {}
    try:
        cr = CompactRange(h, pruned, frontier)
    except IntegrityError:
        cr = CompactRange(h)
    leaves = _fast_leaf(h)
    anomalies: dict[int, int | None] = {}  # local line index -> seq found (None: not an entry)
    n_lines = 0
    offset = 0
    leftover = b""
    with p.open("rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            data = leftover + chunk if leftover else chunk
            lines = data.split(b"\n")
            leftover = lines.pop()
            base = pruned + n_lines
            bad = [
                i
                for i, line in enumerate(lines)
                if b',"seq":%d,"subjects":' % (base + i) not in line
            ]
            for i in bad:
                try:
                    anomalies[n_lines + i] = int(parse_entry(lines[i])["seq"])
                except ValueError:
                    anomalies[n_lines + i] = None
            _feed(h, cr, leaves(lines), marks, roots)
            n_lines += len(lines)
            offset += len(data) - len(leftover)
    if leftover and not keys:
        v.append(
            TornTail(
                f"{p}: torn last line at byte {offset} ({len(leftover)} bytes without a newline)",
                data={"file": str(p), "offset": offset},
            )
        )
    n = pruned + n_lines
    report.size = n
    report.root = cr.root()
    while marks:  # marks beyond the end: no root
        marks.pop()

    # 4. sequence numbers -----------------------------------------------------------------------
    seq_trouble = False
    if anomalies:
        seq_trouble = True
        first = min(anomalies)
        found = anomalies[first]
        expected = pruned + first
        later = {s for i, s in anomalies.items() if i > first and s is not None}
        if found is None:
            v.append(
                EntryModified(
                    f"entry {expected} modified: line {first + 1} is not a valid canonical entry",
                    data={"seq": expected, "first": expected, "last": expected},
                )
            )
        elif found > expected and not any(expected <= s < found for s in later):
            v.append(
                EntriesMissing(
                    f"entries missing: seq {expected}..{found - 1} "
                    f"({found - expected} entr{'y' if found - expected == 1 else 'ies'}) "
                    f"deleted before line {first + 1}",
                    data={"first": expected, "count": found - expected},
                )
            )
        else:
            v.append(
                EntriesReordered(
                    f"entries reordered: line {first + 1} holds seq {found}, expected {expected}",
                    data={"line": first + 1, "seq": found, "expected": expected},
                )
            )

    # 5. checkpoints against the log ------------------------------------------------------------
    valid = [c for c in cps if c.valid]
    by_size: dict[int, _Cp] = {}
    for c in valid:
        prev = by_size.get(c.cp.size)
        if prev is not None and prev.cp.root != c.cp.root:
            v.append(
                LogForked(
                    f"fork: two signed checkpoints of size {c.cp.size} with different roots "
                    f"(records {prev.record.index if prev.record else '?'} and "
                    f"{c.record.index if c.record else '?'})",
                    data={"size": c.cp.size},
                )
            )
            report.evidence += [prev.note.decode(), c.note.decode()]
        by_size.setdefault(c.cp.size, c)
    covered = pruned
    if valid:
        latest = max(valid, key=lambda c: c.cp.size)
        report.latest_checkpoint = latest.note.decode()
        covered = max(covered, latest.cp.size)
        if latest.cp.size > n:
            v.append(
                LogTruncated(
                    f"log truncated: it holds {n} entries, a signed checkpoint covers "
                    f"{latest.cp.size}",
                    data={"size": n, "checkpoint_size": latest.cp.size},
                )
            )
    if keys and (n > covered or leftover):
        torn_at = offset if leftover else None
        v.append(_beyond_checkpoint(p, covered, n, report.root, intents, torn_at=torn_at))
    checkable = sorted((c for c in by_size.values() if pruned <= c.cp.size <= n), key=_size)
    mism = [c for c in checkable if roots.get(c.cp.size) != c.cp.root]
    if mism:
        first_bad = mism[0]
        agreeing_later = [c for c in checkable if c.cp.size > first_bad.cp.size and c not in mism]
        if agreeing_later:
            v.append(
                LogForked(
                    f"fork: the signed checkpoint of size {first_bad.cp.size} is inconsistent "
                    f"with the signed checkpoint of size {agreeing_later[0].cp.size}, "
                    "which the log matches",
                    data={"size": first_bad.cp.size},
                )
            )
            report.evidence += [first_bad.note.decode(), agreeing_later[0].note.decode()]
        elif not seq_trouble:
            before = [c.cp.size for c in checkable if c.cp.size < first_bad.cp.size]
            lo = before[-1] if before else pruned
            hi = first_bad.cp.size
            exact = _find_noncanonical(p, lo - pruned, hi - pruned)
            if hi - lo == 1 or exact is not None:
                seq = lo if hi - lo == 1 else pruned + (exact or 0)
                msg = f"entry {seq} modified (line {seq - pruned + 1})"
                where: dict[str, Any] = {"seq": seq, "first": seq, "last": seq}
            else:
                msg = (
                    f"an entry in seq {lo}..{hi - 1} modified: the signed root of size {hi} "
                    f"does not match (size {lo} still does)"
                )
                where = {"first": lo, "last": hi - 1}
            v.append(EntryModified(msg, data=where))

    # 6. the trusted checkpoint -----------------------------------------------------------------
    if trusted is not None:
        biggest = max((c.cp.size for c in valid), default=0)
        if trusted.size > n:
            if biggest < trusted.size:
                v.append(
                    LogRolledBack(
                        f"log rolled back: the trusted checkpoint covers {trusted.size} entries, "
                        f"the log and its checkpoints only {max(n, biggest)}",
                        data={"trusted_size": trusted.size, "size": n},
                    )
                )
            else:
                v.append(
                    LogTruncated(
                        f"log truncated: it holds {n} entries, the trusted checkpoint covers "
                        f"{trusted.size}",
                        data={"size": n, "checkpoint_size": trusted.size},
                    )
                )
        else:
            same = by_size.get(trusted.size)
            mine = roots.get(trusted.size)
            differs = (same is not None and same.cp.root != trusted.root) or (
                mine is not None and mine != trusted.root
            )
            if differs:
                other = same or (max(valid, key=_size) if valid else None)
                v.append(
                    LogForked(
                        f"fork: the log's tree at size {trusted.size} differs from the trusted "
                        "checkpoint (both kept as evidence)",
                        data={"size": trusted.size},
                    )
                )
                report.evidence.append(trusted_checkpoint.decode() if trusted_checkpoint else "")
                if other is not None:
                    report.evidence.append(other.note.decode())

    if v:
        v.sort(key=lambda e: VIOLATION_ORDER.index(type(e)))
        first_v = v[0]
        first_v.report = report
        raise first_v
    return report


def _open_intents(
    records: Sequence[IntentRecord], keys: Sequence[NoteVerifier], v: list[AuditViolation]
) -> list[Intent]:
    """The intents signed by the log key; a malformed or badly signed one is named."""
    out: list[Intent] = []
    for rec in records:
        try:
            intent = rec.intent()
        except NoteError:
            v.append(
                BadSignature(f"intent record {rec.index} is malformed", data={"intent": rec.index})
            )
            continue
        if not keys:
            continue
        try:
            open_note(rec.note, keys)
        except IntegrityError:
            v.append(
                BadSignature(
                    f"intent record {rec.index} is not validly signed by the log key",
                    data={"intent": rec.index},
                )
            )
            continue
        out.append(intent)
    return out


def _beyond_checkpoint(
    p: Path,
    covered: int,
    n: int,
    root: bytes,
    intents: Sequence[Intent],
    *,
    torn_at: int | None,
) -> AuditViolation:
    """Name what lies after the largest signed checkpoint (docs/audit-log.md §7, §9).

    A signed intent from ``covered`` to exactly ``n`` with the log's root: a crash between
    the entries' fsync and the checkpoint's (the next writer adopts them). An intent that
    announced more entries than arrived: a commit cut short (``audit repair`` moves it
    aside). Anything else: bytes that no signature vouches for.
    """
    pending = [i for i in intents if i.old_size == covered]
    count = n - covered
    where: dict[str, Any] = {"file": str(p), "first": covered, "count": count}
    if torn_at is not None:
        where["offset"] = torn_at
    if torn_at is None and any(i.new_size == n and i.root == root for i in pending):
        return UncoveredEntries(
            f"entries {covered}..{n - 1} are not covered by a signed checkpoint yet",
            hint="a crash between the entries and their checkpoint; a signed intent vouches "
            "for exactly these entries and the next writer adopts them",
            data={"first": covered, "count": count},
        )
    if any(i.new_size > n for i in pending):
        torn = f", torn at byte {torn_at}" if torn_at is not None else ""
        return TornTail(
            f"{p}: a commit of the entries from {covered} on was cut short{torn} "
            f"({count} complete entr{'y' if count == 1 else 'ies'} of it present)",
            hint="a crash interrupted the write; `xinan --as AUDIT_ADMIN audit repair` moves "
            "it aside (kept as evidence, recorded in the log)",
            data={**where, "interrupted": True},
        )
    what = f"entries {covered}..{n - 1}" if count else "bytes"
    torn = f" (and a torn line at byte {torn_at})" if torn_at is not None and count else ""
    return UnsignedEntries(
        f"{what} after the last signed checkpoint (size {covered}){torn} are vouched for by "
        "no signature of the log key: added without the key, or the checkpoints covering "
        "them were removed",
        hint="restore the log and its .checkpoints from a backup; compare with a checkpoint "
        "you kept (--trusted-checkpoint)",
        data=where,
    )


def _size(c: _Cp) -> int:
    return c.cp.size


def _find_noncanonical(p: Path, lo: int, hi: int) -> int | None:
    """Local index of the only line in [lo, hi) that is not a valid entry, if exactly one."""
    found: list[int] = []
    with p.open("rb") as f:
        for i, raw in enumerate(f):
            if i >= hi:
                break
            if i >= lo:
                try:
                    parse_entry(raw.rstrip(b"\n"))
                except ValueError:
                    found.append(i)
    return found[0] if len(found) == 1 else None


def load_trusted(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the trusted checkpoint ({exc.strerror})") from None
