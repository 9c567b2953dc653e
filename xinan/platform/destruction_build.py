"""Building a destruction certificate (docs/destruction.md §4–§5): the audit entry a destruction
wrote, read back with its inclusion proof (``audit_reference``), checked against the plan
(``build_certificate``) and signed by the destroyer (``sign_certificate``).

Does not own: the model (:mod:`xinan.platform.destruction_model`), verification
(:mod:`xinan.platform.destruction_verify`), the vault's destroy path
(:mod:`xinan.platform.retention`).
"""

from __future__ import annotations

from pathlib import Path

from xinan.audit.checkpoint import Checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.merkle import get_hash, verify_inclusion
from xinan.audit.note import parse_note
from xinan.audit.proof import load_tree
from xinan.crypto.recipes import HASH_FOR_SUITE
from xinan.errors import (
    AuditEntryMismatch,
    AuditEntryMissing,
    AuditEntryNotCovered,
    CertificateMalformed,
    CertificateSignerNotAuthorised,
)
from xinan.keys import Identity
from xinan.platform.destruction_model import (
    _TIME_RE,
    FORMAT,
    AuditReference,
    Certificate,
    Destruction,
    _b64,
    _file_bytes,
    _signed_bytes,
)


# ============================================================================================
# §4–§5 Building
# ============================================================================================
def _check_entry(d: Destruction, audit: AuditReference, destroyed_at: str) -> None:
    """docs/destruction.md §6 step 6 (entry part): the entry is this destruction's."""
    h = get_hash(audit.hash)
    line = audit.line()
    if h.leaf(line) != audit.leaf_hash:
        raise AuditEntryMismatch(
            f"audit entry {audit.seq}: leaf hash does not match the entry", member="leaf_hash"
        )
    try:
        e = parse_entry(line)
    except ValueError as exc:
        raise AuditEntryMismatch(
            f"audit.entry is not an audit entry ({exc})", member="entry"
        ) from None
    seq = audit.seq
    if e["seq"] != seq:
        raise AuditEntryMismatch(
            f"audit entry: the entry carried is seq {e['seq']}, the certificate names {seq}",
            member="seq",
        )
    if e["type"] != "destroy" or e["outcome"] != "success":
        raise AuditEntryMismatch(
            f"audit entry {seq} is a {e['type']!r} event with outcome {e['outcome']!r}, "
            "not a successful destroy",
            member="type",
        )
    if e["time"] != destroyed_at:
        raise AuditEntryMismatch(
            f"audit entry {seq} was written at {e['time']}, the certificate says {destroyed_at}",
            member="time",
        )
    # the actor's key and role; its optional request id and source (docs/audit-log.md §2)
    # are the session's and not in the certificate
    actor = e["actor"]
    if (actor.get("key_id"), actor.get("role")) != (d.destroyed_by.key_id, d.destroyed_by.role):
        raise AuditEntryMismatch(
            f"audit entry {seq} was written by {e['actor']['key_id']}, not the destroyer",
            member="actor",
        )
    expected = d.audit_event()
    objects = e["objects"]
    for name in ("ref", "record_ids", "counts"):
        if objects.get(name) != expected["objects"][name]:
            raise AuditEntryMismatch(
                f"audit entry {seq}: objects.{name} differs from the certificate's",
                member=f"objects.{name}",
            )
    if set(objects) != set(expected["objects"]):
        raise AuditEntryMismatch(
            f"audit entry {seq}: objects has other members than a destruction's", member="objects"
        )
    if e["why"] != expected["why"]:
        raise AuditEntryMismatch(
            f"audit entry {seq}: why differs from the certificate's rule", member="why"
        )
    if e["subjects"] != expected["subjects"]:
        raise AuditEntryMismatch(
            f"audit entry {seq}: subjects differ from the certificate's", member="subjects"
        )


def _line_at(log: Path, start: int, seq: int) -> bytes | None:
    """The line of entry ``seq`` (``start`` = entries pruned), or None past the end."""
    with log.open("rb") as f:
        for i, raw in enumerate(f):
            if i == seq - start:
                return raw.rstrip(b"\n") if raw.endswith(b"\n") else None
    return None


def audit_reference(log: str | Path, seq: int) -> AuditReference:
    """The entry ``seq`` of ``log``, proven under the log's latest signed checkpoint.

    Call it after the destroy entry was recorded (``Session.record`` returns ``seq`` only once a
    checkpoint covers it). The proof is checked against the signed root before it is returned.
    """
    path = Path(log)
    tree, note = load_tree(path)
    cp = Checkpoint.parse(parse_note(note).text)
    if not tree.start <= seq < cp.size:
        raise AuditEntryNotCovered(f"{path}: entry {seq} is not under the latest checkpoint")
    line = _line_at(path, tree.start, seq)
    if line is None:
        raise AuditEntryMissing(f"{path}: no entry {seq}")
    leaf = tree.h.leaf(line)
    proof = tree.inclusion_proof(seq, cp.size)
    verify_inclusion(tree.h, leaf, seq, cp.size, proof, cp.root)
    try:
        entry = parse_entry(line)  # docs/audit-log.md §2: a canonical entry, or refused
    except ValueError as e:
        raise AuditEntryMismatch(
            f"{path}: entry {seq} is not an audit entry ({e})", member="entry"
        ) from None
    return AuditReference(
        origin=cp.origin,
        hash=cp.hash_name,
        seq=seq,
        leaf_hash=leaf,
        entry=entry,
        checkpoint=note.decode("utf-8"),
        proof=tuple(proof),
    )


def build_certificate(destruction: Destruction, audit: AuditReference) -> Certificate:
    """The certificate of ``destruction``, whose entry is ``audit`` (docs/destruction.md §5).

    Refuses (:class:`AuditEntryMismatch`) an entry that is not this destruction's.
    """
    destroyed_at = audit.entry.get("time")
    if not isinstance(destroyed_at, str) or not _TIME_RE.match(destroyed_at):
        raise AuditEntryMismatch("audit.entry has no canonical time", member="time")
    _check_entry(destruction, audit, destroyed_at)
    return Certificate(destruction, destroyed_at, audit)


def sign_certificate(cert: Certificate, identity: Identity) -> bytes:
    """The certificate file (docs/destruction.md §3.1), signed by the destroyer's key."""
    d = cert.destruction.destroyed_by
    info = identity.info
    if (info.id, info.key_id, info.role.value) != (d.id, d.key_id, d.role):
        raise CertificateSignerNotAuthorised(
            f"{info.id} is not the destroyer named in the certificate ({d.id})"
        )
    if HASH_FOR_SUITE[info.suite] != cert.destruction.hash:
        raise CertificateMalformed("certificate: hash is not the destroyer suite's hash")
    body = cert.to_json()
    sig = identity.sign(_signed_bytes(body))
    doc = {
        "format": FORMAT,
        "certificate": body,
        "signature": {"alg": identity.suite.sig_name, "key_id": info.key_id, "value": _b64(sig)},
    }
    return _file_bytes(doc)


# ============================================================================================
# §6 Verification
# ============================================================================================
