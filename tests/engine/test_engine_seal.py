"""Sealing on the batch engine (docs/engine.md §5, docs/package.md): the package opens to the
row path's values (the clear part is the golden submission view, the sealed part the validated
values), the rejects are the golden rejects, record lines do not depend on the worker count,
and one pass writes the views, the package and one rejects file."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import TODAY, FixedPseudonymKey
from tests.support.reference import Rejected, Validator
from xinan import keys
from xinan.crypto import get_suite
from xinan.engine.seal import seal_file
from xinan.formats import package as P
from xinan.masking import MaskContext
from xinan.provider.jobs import match_header
from xinan.records import BadRow, open_records

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "mask"


def ident(name: str) -> keys.Identity:
    s = get_suite("intl")
    sk, kk = s.generate_signing_key(), s.generate_kem_key()
    info = keys.PublicKeyInfo(
        name,
        f"xk1intl{name}",
        keys.Role.PROVIDER,
        s.name,
        NOW,
        sk.public_bytes(),
        kk.public_bytes(),
    )
    return keys.Identity(info, sk, kk)


PROV, PLAT = ident("prov"), ident("plat")


def opened(path: Path) -> list[P.OpenedRecord]:
    got: list[P.OpenedRecord] = []
    with path.open("rb") as f:
        P.open_package(f, got.append, identity=PLAT, trust={PROV.key_id: PROV.info}.get)
    return got


def expected_sealed(policy, src: Path) -> list[list[str]]:
    """The sealed values of the valid rows, by the scalar validator (the row path's rules)."""
    out = []
    with open_records(src) as r:
        layout = match_header(policy, r.header, kind=None, file=str(src))
        v = Validator(policy, layout.kind, today=TODAY)
        idx = [i for i, f in enumerate(layout.kind.fields) if f.sealed]
        for item in r:
            if isinstance(item, BadRow):
                continue
            if any(item.values[i].strip() for i, _ in layout.prohibited):
                continue
            try:
                valid = v.check(layout.to_kind_order(item.values))
            except Rejected:
                continue
            out.append([valid.values[i] for i in idx])
    return out


@pytest.mark.parametrize("name", ["penalty-edge.csv", "penalty-gb18030.csv", "person.csv"])
def test_seal_opens_to_the_row_path_values(policy, tmp_path, name):
    src = GOLDEN / "in" / name
    gold = GOLDEN / "out" / name.replace(".", "_")
    s = seal_file(
        src,
        tmp_path / "p.xpkg",
        policy=policy,
        sender=PROV,
        recipients=[PLAT.info],
        today=TODAY,
        now=NOW,
        rejects=tmp_path / "rej.csv",
        workers=2,
        batch_rows=50,
    )
    assert s.balanced() and s.sealed + s.rejected == s.read
    assert (tmp_path / "rej.csv").read_bytes() == (gold / "rejects.csv").read_bytes()
    recs = opened(tmp_path / "p.xpkg")
    with (gold / "submission.csv").open(encoding="utf-8", newline="") as f:
        sub = list(csv.reader(f))[1:]
    assert [list(r.clear) for r in recs] == sub
    assert [list(r.sealed) for r in recs] == expected_sealed(policy, src)
    assert len({r.record_id for r in recs}) == len(recs)


class _Drbg:
    """A seeded stream (SHA-256 in counter mode): tests only, to compare bytes across runs."""

    def __init__(self, seed: bytes) -> None:
        self.seed, self.n, self.buf = seed, 0, b""

    def __call__(self, k: int) -> bytes:
        while len(self.buf) < k:
            self.buf += hashlib.sha256(self.seed + self.n.to_bytes(8, "big")).digest()
            self.n += 1
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


def test_record_lines_do_not_depend_on_workers_or_batches(policy, tmp_path):
    src = GOLDEN / "in" / "penalty-utf8.csv"
    bodies = []
    for workers, rows in ((1, 8192), (2, 37), (2, 100)):
        out = tmp_path / f"w{workers}-{rows}.xpkg"
        seal_file(
            src,
            out,
            policy=policy,
            sender=PROV,
            recipients=[PLAT.info],
            today=TODAY,
            now=NOW,
            workers=workers,
            batch_rows=rows,
            random=_Drbg(b"seed"),
        )
        lines = out.read_bytes().split(b"\n")
        bodies.append(lines[1:-2])  # records only: the header's HPKE wrap is randomised inside
        assert len(opened(out)) == len(lines) - 3
    assert bodies[0] == bodies[1] == bodies[2]


def test_one_pass_views_package_and_rejects(policy, tmp_path):
    src = GOLDEN / "in" / "penalty-edge.csv"
    gold = GOLDEN / "out" / "penalty-edge_csv"
    ctx = MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey())
    s = seal_file(
        src,
        tmp_path / "p.xpkg",
        policy=policy,
        sender=PROV,
        recipients=[PLAT.info],
        today=TODAY,
        now=NOW,
        rejects=tmp_path / "rej.csv",
        ctx=ctx,
        workers=2,
        batch_rows=16,
        views={"public": tmp_path / "public.csv", "gov_share": tmp_path / "gov_share.csv"},
    )
    for a in ("public", "gov_share"):
        assert (tmp_path / f"{a}.csv").read_bytes() == (gold / f"{a}.csv").read_bytes()
    assert (tmp_path / "rej.csv").read_bytes() == (gold / "rejects.csv").read_bytes()
    assert s.views is not None and s.views.balanced() and s.balanced()
    data = s.to_json()
    assert data["views"]["public"]["withheld"] > 0
    assert data["views"]["gov_share"]["written"] == s.sealed


def test_audit_hook_failure_leaves_nothing(policy, tmp_path):
    def boom(_s):
        raise RuntimeError("audit log unavailable")

    with pytest.raises(RuntimeError):
        seal_file(
            GOLDEN / "in" / "person.csv",
            tmp_path / "p.xpkg",
            policy=policy,
            sender=PROV,
            recipients=[PLAT.info],
            today=TODAY,
            now=NOW,
            rejects=tmp_path / "r.csv",
            views={"gov_share": tmp_path / "g.csv"},
            workers=1,
            ctx=MaskContext(today=TODAY, default_pseudonymizer=FixedPseudonymKey()),
            before_commit=boom,
        )
    assert list(tmp_path.iterdir()) == []
