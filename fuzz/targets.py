"""One fuzz target per parser of untrusted bytes (issue 11, build item 6).

Each target takes arbitrary bytes, feeds them to the real parser the way xinan reads that
artifact, and lets exceptions through. The contract every parser must keep: on any input it
returns or raises a :class:`~xinan.errors.XinanError` (``allowed`` lists the documented
exceptions where a target's contract says more). Anything else is a crash: a bug.

``run(name, data)`` applies the contract; ``python -m fuzz.run NAME`` drives a target with
atheris (coverage-guided, for long runs); ``tests/project/test_fuzz.py`` replays the corpus and runs
each target for a bounded number of hypothesis examples in CI.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fuzz import world
from xinan import keys
from xinan._codec import loads_strict
from xinan.audit.checkpoint import Checkpoint, open_checkpoint
from xinan.audit.entry import parse_entry
from xinan.audit.note import open_note, parse_note, parse_vkeys
from xinan.audit.proof import check_proof
from xinan.errors import XinanError
from xinan.formats import grant as G
from xinan.formats import package as P
from xinan.formats import release as R
from xinan.formats.grant import model as GM
from xinan.formats.grant import revocations as GR
from xinan.formats.grant import verify as GV

# Small limits: the fuzzer explores shapes, not sizes (the size limits have their own tests).
_LIMITS = P.Limits(max_header_bytes=1 << 16, max_line_bytes=1 << 16, max_records=64)


@dataclass(frozen=True)
class Target:
    name: str
    fn: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...] = (XinanError,)
    doc: str = ""


TARGETS: dict[str, Target] = {}


def target(name: str, *, allowed: tuple[type[BaseException], ...] = (XinanError,)) -> Any:
    def deco(fn: Callable[[bytes], None]) -> Callable[[bytes], None]:
        TARGETS[name] = Target(name, fn, allowed, (fn.__doc__ or "").strip())
        return fn

    return deco


def run(name: str, data: bytes) -> None:
    """Feed ``data`` to target ``name``; raise only when the parser broke its contract."""
    t = TARGETS[name]
    with contextlib.suppress(*t.allowed):
        t.fn(data)


def _each(*calls: Callable[[], object]) -> None:
    """Run every call; a xinan error ends only its own call (each reads the input its way)."""
    for call in calls:
        with contextlib.suppress(XinanError):
            call()


def _text(data: bytes) -> str:
    # Text APIs get every string, lone surrogates included (surrogatepass maps the bytes of
    # an encoded surrogate to one): str inputs must be checked as strictly as bytes.
    if _utf8ish(data):
        return data.decode("utf-8", errors="surrogatepass")
    return data.decode("latin-1")


def _utf8ish(data: bytes) -> bool:
    try:
        data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


# -- formats -------------------------------------------------------------------------------
@target("package")
def package(data: bytes) -> None:
    """xinan-package/1: verify, then open as the platform (submission) or querent (share)."""

    def open_as(who: keys.Identity) -> None:
        P.open_package(
            io.BytesIO(data),
            lambda r: None,
            identity=who,
            trust=world.trust_any,
            limits=_LIMITS,
            release=lambda pid, rid: world._seed("release " + rid),
        )

    _each(
        lambda: P.verify_package(io.BytesIO(data), trust=world.trust_any, limits=_LIMITS),
        lambda: open_as(world.platform()),
        lambda: open_as(world.querent()),
    )


@cache
def _share_info() -> P.PackageInfo:
    data = (world.ROOT / "data" / "release-share.xpkg").read_bytes()
    return P.verify_package(io.BytesIO(data), trust=world.trust_any)


@target("release")
def release(data: bytes) -> None:
    """xinan-release/1: the shape, then the whole open against the world's share."""
    R.open_release(data, share=_share_info(), identity=world.querent(), trust=world.trust_any)


@target("grant")
def grant(data: bytes) -> None:
    """A grant JWT: verify, and (as an honest-but-buggy platform could sign anything) the
    claims parser on the payload segment whatever the signature."""
    token = _text(data)
    G.verify_grant(token, trust=world.trust_any, now=world.NOW)


@target("grant_claims")
def grant_claims(data: bytes) -> None:
    """The claims of a grant whose signature verified: what the platform's key signed."""
    GV._parse_claims(data, world.platform().key_id)


@target("revocations")
def revocations(data: bytes) -> None:
    """xinan-revocations/1 as served, and the same document re-signed by the platform's key
    (so the parser behind the signature check is reached too)."""
    trust = {world.platform().key_id: world.platform().info}
    G.verify_revocations(data, trust=trust, now=world.NOW)
    try:
        doc = loads_strict(data)
    except XinanError:
        return
    if isinstance(doc, dict) and list(doc) == GR._REV_MEMBERS:
        doc["sig"] = GM._b64u(world.platform().sign(GR._rev_signing_input(doc)))
        G.verify_revocations(GR._rev_encode(doc), trust=trust, now=world.NOW)


@target("note")
def note(data: bytes) -> None:
    """A signed note and the checkpoint in it, as bytes and as text."""
    known = [world.log_signer().verifier()]
    required = [world.witness().verifier()]

    def as_form(form: bytes | str) -> None:
        n = parse_note(form)
        _each(lambda: Checkpoint.parse(n.text), lambda: open_note(n, known))

    _each(
        lambda: open_checkpoint(data, known, required=required, origin=world.ORIGIN),
        lambda: as_form(data),
        lambda: as_form(_text(data)),
    )


@target("vkey")
def vkey(data: bytes) -> None:
    """Verifier keys given as text (never a file name)."""
    parse_vkeys(_text(data))


@cache
def _trusted_checkpoints() -> tuple[bytes, bytes]:
    old, _, _ = world.proofs()
    return old, world.checkpoint_note(5)


@target("proof")
def proof(data: bytes) -> None:
    """A proof file (tlog-proof or consistency) checked against the world's checkpoints."""
    old, new = _trusted_checkpoints()
    text = _text(data)
    keys_ = (world.log_signer().verifier(),)
    _each(
        lambda: check_proof(text, old, keys=keys_),
        lambda: check_proof(text, new, keys=keys_),
        lambda: check_proof(data, new),
    )


@target("certificate")
def certificate(data: bytes) -> None:
    """xinan-destruction/1 offline, and the body parser behind the signature check."""
    from xinan.platform.destruction import _parse_body, verify_certificate

    _each(lambda: verify_certificate(data, trust=[world.sec_admin().info]))
    try:
        doc = loads_strict(data)
    except XinanError:
        return
    if isinstance(doc, dict) and isinstance(doc.get("certificate"), dict):
        _parse_body(doc["certificate"])


def _sidecar_as(data: bytes, suffix: str) -> None:
    from xinan.audit.log import AuditLog
    from xinan.audit.sidecar import read_prune_state, read_sidecar_records, tail_records
    from xinan.audit.verify import verify_log

    lines = world.audit_log_files()[0]
    signer = world.log_signer()

    def repair(log: Path) -> None:
        with AuditLog.open(
            log, signer=signer, origin=world.ORIGIN, clock=lambda: world.NOW, allow_torn=True
        ) as a:
            a.quarantine_torn_tail()

    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "audit.log"
        log.write_bytes(lines)
        Path(f"{log}{suffix}").write_bytes(data)
        side = Path(f"{log}.checkpoints")
        _each(
            lambda: read_sidecar_records(side),
            lambda: tail_records(side),
            lambda: read_prune_state(log),
            lambda: verify_log(log, keys=[signer.verifier()]),
            lambda: repair(log),
        )


@target("sidecar")
def sidecar(data: bytes) -> None:
    """The checkpoint sidecar (checkpoint and intent records) and the prune record, as `audit
    verify` reads them and as a writer opens and repairs the log (docs/audit-log.md §5–§8)."""
    _sidecar_as(data, ".checkpoints")
    _sidecar_as(data, ".pruned")


@target("audit_entry", allowed=(XinanError, ValueError))
def audit_entry(data: bytes) -> None:
    """One audit-log line (parse_entry's contract: ValueError, which MalformedJSON is)."""
    parse_entry(data)


@target("keyfile")
def keyfile(data: bytes) -> None:
    """A key file: as a public file, and unlocked as a private or secret file."""
    with tempfile.TemporaryDirectory() as d:
        ring = keys.Keyring(Path(d))
        ring.private_dir.mkdir(parents=True, mode=0o700)
        ring.public_dir.mkdir(parents=True)
        pub = ring.public_dir / "fz.pub"
        pub.write_bytes(data)
        _each(lambda: keys.read_public_file(pub))
        if _costly_kdf(data):
            return
        priv = ring.private_dir / "fz.key"
        priv.write_bytes(data)
        priv.chmod(0o600)
        _each(
            lambda: ring.unlock("fz", world.PASSPHRASE),
            lambda: ring.secret("fz", world.PASSPHRASE),
        )


def _costly_kdf(data: bytes) -> bool:
    # Passphrase KDFs are meant to be expensive (Argon2id up to 4 GiB, PBKDF2-HMAC-SM3 up to
    # ten million iterations within the spec's bounds): the fuzzer skips unlocking files that
    # ask for more than a little.
    try:
        kdf = loads_strict(data)["kdf"]
        if kdf["name"] == "argon2id":
            return not (kdf["m_kib"] <= 256 and kdf["t"] <= 2 and kdf["p"] <= 2)
        return not kdf["iterations"] <= 2000
    except (XinanError, KeyError, TypeError):
        return False


@target("policy")
def policy(data: bytes) -> None:
    """A policy file (TOML) through `xinan policy check`'s parser."""
    from xinan.policy import check_policy_text

    check_policy_text(_text(data), "fuzz.toml")


def _records(data: bytes, suffix: str) -> None:
    from xinan.records import open_records

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("in" + suffix)
        p.write_bytes(data)
        with open_records(p, max_field_chars=4096, max_columns=64) as reader:
            for row in reader:
                # What a reader yields is Unicode text: every consumer encodes it.
                for v in getattr(row, "values", ()):
                    v.encode("utf-8")
                getattr(row, "raw", "").encode("utf-8")


@target("records_csv")
def records_csv(data: bytes) -> None:
    """CSV (UTF-8/GB18030/GBK detection, delimiters, quoting)."""
    _records(data, ".csv")


@target("records_jsonl")
def records_jsonl(data: bytes) -> None:
    """JSON Lines."""
    _records(data, ".jsonl")


@target("records_xlsx")
def records_xlsx(data: bytes) -> None:
    """XLSX (a zip of XML)."""
    _records(data, ".xlsx")


@target("correction")
def correction(data: bytes) -> None:
    """A credit-repair correction file (docs/lifecycle.md §3.3), as JSON and as CSV."""
    from xinan.platform.lifecycle import read_correction

    with tempfile.TemporaryDirectory() as d:
        for suffix in (".json", ".csv"):
            p = Path(d) / ("correction" + suffix)
            p.write_bytes(data)
            _each(lambda p=p: read_correction(p))


@target("backup")
def backup(data: bytes) -> None:
    """xinan-backup/1 (docs/backup.md §6): framing, signature, manifest and chunk digests as a
    restore reads them, then extraction with the platform key; and the manifest parser that
    sits behind the signature."""
    from xinan.platform.backup_format import _parse_manifest, extract_files, read_archive

    admin = world.sec_admin()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.xbak"
        path.write_bytes(data)

        def restore() -> None:
            into = Path(d) / "into"
            shutil.rmtree(into, ignore_errors=True)
            into.mkdir()
            extract_files(read_archive(path, {admin.key_id: admin.info}), world.platform(), into)

        _each(restore, lambda: _parse_manifest(data))


@target("source_change")
def source_change(data: bytes) -> None:
    """xinan-source-change/1 (docs/source-change.md §3) against a provider in the trust store,
    and the body parser behind the signature."""
    from xinan.formats.source_change import SourceChange, read_source_change

    _each(lambda: read_source_change(data, [world.provider().info]))
    try:
        doc = loads_strict(data)
    except XinanError:
        return
    if isinstance(doc, dict):
        _each(lambda: SourceChange.from_json(doc.get("change")))


@target("audit_config")
def audit_config(data: bytes) -> None:
    """``<log>.config``: which log this is and which key signs it."""
    from xinan.access import AuditConfig, load_audit_config

    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "audit.log"
        AuditConfig.path_for(log).write_bytes(data)
        load_audit_config(log)


@target("ingest_rejects")
def ingest_rejects(data: bytes) -> None:
    """xinan-ingest-rejects/1 (docs/ingest-rejects.md): the platform's signed rejects report."""
    from xinan.formats.ingest_rejects import verify_rejects

    verify_rejects(data, trust=world.trust_any)
