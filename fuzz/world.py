"""A fixed world for the fuzz harnesses: identities from fixed bytes (so that seed artifacts
made once keep opening under the harnesses' keys), and the seed artifacts themselves.

Synthetic parties only (GB 11643-1999's printed example ID, made-up names). Nothing here is a
secret: these keys exist to be fuzzed with.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from xinan import keys
from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.entry import AuditEvent, make_line
from xinan.audit.merkle import MerkleTree, get_hash
from xinan.audit.note import CosignatureSigner, Ed25519Signer
from xinan.audit.proof import CONSISTENCY_HEADER, TLOG_PROOF_HEADER
from xinan.crypto import get_suite
from xinan.formats import grant as G
from xinan.formats import package as P
from xinan.formats import release as R

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PASSPHRASE = "fuzzing passphrase, not a secret"
ORIGIN = "example.gov.cn/xinan-audit/fuzz"
META = P.PackageMeta(
    "credit-default", "2026.11", "penalty", ("行政相对人名称", "违法事实"), ("证件号码", "联系电话")
)
ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"


def _seed(label: str) -> bytes:
    return hashlib.sha256(b"xinan fuzz world " + label.encode()).digest()


@cache
def ident(name: str, role: keys.Role) -> keys.Identity:
    """An in-memory intl identity whose keys derive from its name (no key file)."""
    s = get_suite("intl")
    sk = s.import_private("sign", _seed(name + " sign"))
    kk = s.import_private("kem", _seed(name + " kem"))
    doc = {
        "created": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": keys.FORMAT,
        "id": name,
        "kem": base64.b64encode(kk.public_bytes()).decode(),
        "role": role.value,
        "sig": base64.b64encode(sk.public_bytes()).decode(),
        "suite": "intl",
    }
    info = keys.PublicKeyInfo(
        name,
        keys.pair_key_id(s, doc),
        role,
        s.name,
        NOW.replace(microsecond=0),
        sk.public_bytes(),
        kk.public_bytes(),
    )
    return keys.Identity(info, sk, kk)


def provider() -> keys.Identity:
    return ident("amr-fuzz", keys.Role.PROVIDER)


def platform() -> keys.Identity:
    return ident("platform-fuzz", keys.Role.PLATFORM)


def querent() -> keys.Identity:
    return ident("bank-fuzz", keys.Role.QUERENT)


def sec_admin() -> keys.Identity:
    return ident("sec-fuzz", keys.Role.SEC_ADMIN)


def trust_any(key_id: str) -> keys.PublicKeyInfo:
    """A trust store that knows every key id the fuzzer invents, as one of the world's keys
    (the one with that id, else the provider's under the asked id): parsing goes past the
    sender lookup, and only the signature stops a forgery."""
    for who in (provider(), platform(), querent(), sec_admin()):
        if who.key_id == key_id:
            return who.info
    info = provider().info
    return keys.PublicKeyInfo(
        info.id, key_id, info.role, info.suite, info.created, info.sig, info.kem
    )


def log_signer() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(_seed("log")))


def witness() -> CosignatureSigner:
    key = Ed25519PrivateKey.from_private_bytes(_seed("witness"))
    return CosignatureSigner("witness.example/fuzz", key, lambda: NOW)


# -- seeds ---------------------------------------------------------------------------------
def _records() -> list[P.SealRecord]:
    return [
        P.SealRecord(
            f"R-{i:04d}",
            [f"某某商贸有限公司{i}", '未按规定 "公示"\n年度报告\\'],
            ["11010519491231002X", f"1380013{i:04d}"],
        )
        for i in range(3)
    ]


def submission() -> bytes:
    out = io.BytesIO()
    P.seal_package(
        out,
        _records(),
        suite=get_suite("intl"),
        sender=provider(),
        recipients=[platform().info],
        meta=META,
        now=NOW,
    )
    return out.getvalue()


def share(release: str = "per-record") -> tuple[bytes, list[tuple[str, bytes]]]:
    """A share of the submission to the querent, and its release secrets."""
    sub = submission()
    keyed: list[P.KeyedRecord] = []
    P.open_package_keys(io.BytesIO(sub), keyed.append, identity=platform(), trust=trust_any)
    secrets = [(k.record_id, _seed("release " + k.record_id)) for k in keyed]
    recs = [
        P.ShareRecord(
            k.record_id,
            k.source_package_id,
            list(k.clear),
            list(k.blobs),
            list(k.field_keys),
            s if release == "per-record" else None,
        )
        for k, (_, s) in zip(keyed, secrets, strict=True)
    ]
    out = io.BytesIO()
    P.build_share_package(
        out,
        recs,
        suite=get_suite("intl"),
        sender=platform(),
        querent=querent().info,
        meta=META,
        grant="g" * 22,
        now=NOW,
        release=release,
    )
    return out.getvalue(), secrets


def release_file() -> tuple[bytes, bytes]:
    """A share (per-record) and its release file."""
    data, secrets = share()
    info = P.verify_package(io.BytesIO(data), trust=trust_any)
    _, rel = R.build_release(
        share=info,
        querent=querent().info,
        platform=platform(),
        secrets=secrets[:2],
        withheld=1,
        now=NOW,
    )
    return data, rel


def grant_token() -> str:
    subject = "ps1.xs1fuzzkeyaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaa"
    consent = G.Consent(
        id="c-2026-0001",
        subject=subject,
        querent=querent().key_id,
        purpose="信易贷授信审查",
        fields=("联系电话", "证件号码"),
        valid_until=NOW + timedelta(days=30),
        ref="paper consent 2026-0001",
    )
    g = G.issue_grant(
        platform=platform(),
        authorised_by=sec_admin(),
        querent=querent().info,
        consent=consent,
        purpose="信易贷授信审查",
        fields=("联系电话",),
        subjects=[subject],
        policy_label="credit-default@2026.11",
        ttl=timedelta(hours=1),
        now=NOW,
    )
    return g.token


def revocations() -> bytes:
    rl = G.RevocationList(platform().info.id, 1)
    rl = rl.revoke("A" * 22, at=NOW, expires=NOW + timedelta(days=1))
    return G.sign_revocations(rl, platform(), now=NOW, next_update=NOW + timedelta(days=1))


def _tree(n: int) -> tuple[MerkleTree, list[bytes]]:
    h = get_hash("sha256")
    lines = [
        make_line(
            AuditEvent("verify", provider().key_id, "provider", objects={"ref": f"r{i}"}).body(),
            i,
            "2026-11-25T02:00:00.000000Z",
        )
        for i in range(n)
    ]
    tree = MerkleTree(h)
    tree.extend([h.leaf(x) for x in lines])
    return tree, lines


def checkpoint_note(size: int = 5) -> bytes:
    tree, _ = _tree(size)
    cp = Checkpoint(ORIGIN, size, tree.root(size))
    return sign_checkpoint(cp, [log_signer(), witness()]).to_bytes()


def proofs() -> tuple[bytes, str, str]:
    """(the trusted checkpoint of size 5, an inclusion proof of entry 2, a consistency proof
    from size 3 to 5 carrying a checkpoint of size 5 over a tree of 5)."""
    tree, lines = _tree(5)
    note = checkpoint_note(5)
    b64 = lambda x: base64.b64encode(x).decode()  # noqa: E731
    inc = [TLOG_PROOF_HEADER, f"extra {b64(lines[2])}", "index 2"]
    inc += [b64(x) for x in tree.inclusion_proof(2, 5)]
    inclusion = "\n".join(inc) + "\n\n" + note.decode()
    old_tree, _ = _tree(3)
    old_note = sign_checkpoint(Checkpoint(ORIGIN, 3, old_tree.root(3)), [log_signer()])
    con = [CONSISTENCY_HEADER, "old 3"] + [b64(x) for x in tree.consistency_proof(3, 5)]
    consistency = "\n".join(con) + "\n\n" + note.decode()
    return old_note.to_bytes(), inclusion, consistency


def audit_lines() -> list[bytes]:
    return _tree(3)[1]


@cache
def audit_log_files() -> tuple[bytes, bytes, bytes]:
    """A real log written with the fixed log key and clock: a pruned prefix, single appends and
    a batch. Returns its entries, its checkpoint sidecar (checkpoint and intent records) and
    its prune record (docs/audit-log.md §5, §8), the same bytes on every run."""
    import tempfile

    from xinan.audit.log import AuditLog

    t = [NOW - timedelta(days=400)]

    def clock() -> datetime:
        t[0] += timedelta(seconds=1)
        return t[0]

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "audit.log"
        with AuditLog.open(p, signer=log_signer(), origin=ORIGIN, clock=clock) as log:
            for i in range(3):
                log.append(
                    AuditEvent("verify", "xk1fuzzplatform", "platform", objects={"ref": f"p{i}"})
                )
            t[0] = NOW
            with log.batch():
                for i in range(2):
                    log.append(
                        AuditEvent("open", "xk1fuzzquerent", "querent", objects={"ref": f"q{i}"})
                    )
            log.prune(NOW, retention_days=180, now=NOW)
        side = Path(f"{p}.checkpoints").read_bytes()
        return p.read_bytes(), side, Path(f"{p}.pruned").read_bytes()


def key_files(directory: Path) -> list[bytes]:
    """A public, a private and a secret key file (cheap Argon2id: fuzzing, not custody)."""
    old = keys.DEFAULT_KDF
    keys.DEFAULT_KDF = keys.KdfParams(m_kib=64, t=1, p=1, iterations=keys.PBKDF2_MIN_ITERATIONS)
    try:
        ring = keys.Keyring(directory)
        ring.generate("amr-fuzz", keys.Role.PROVIDER, "intl", PASSPHRASE, now=NOW)
        ring.generate_secret("ps-fuzz", "intl", PASSPHRASE, now=NOW)
        ring.generate("amr-gm-fuzz", keys.Role.PROVIDER, "gm", PASSPHRASE, now=NOW)
    finally:
        keys.DEFAULT_KDF = old
    return [
        ring.public_path("amr-fuzz").read_bytes(),
        ring.private_path("amr-fuzz").read_bytes(),
        ring.private_path("ps-fuzz").read_bytes(),
        ring.public_path("amr-gm-fuzz").read_bytes(),
        ring.private_path("amr-gm-fuzz").read_bytes(),
    ]


def policy_text() -> bytes:
    return (ROOT.parent / "policies" / "credit-default.toml").read_bytes()


def csv_file() -> bytes:
    rows = [
        "行政相对人名称,证件号码,联系电话,违法事实",
        'amr,11010519491231002X,13800138000,"未按规定公示, ""年度报告"""',
        "某某商贸有限公司,440524188001010014,,罚款",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def jsonl_file() -> bytes:
    rows = [
        {"行政相对人名称": "amr", "证件号码": "11010519491231002X", "金额": 1000, "ok": True},
        {"行政相对人名称": "某某", "证件号码": None, "金额": 1.5, "ok": False},
    ]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def xlsx_file() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["行政相对人名称", "证件号码", "决定日期", "金额"])
    ws.append(["某某商贸有限公司", "11010519491231002X", NOW.date(), 1000.5])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
