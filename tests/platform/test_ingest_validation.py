"""The platform validates what it ingests against the policy (issue 12 item 4, docs/vault.md §5).

The issue's measurement: a validly signed package with 证件号码 in clear, an extra 宗教信仰
column, a bad check character, an amount of −5 and the date 2026-02-30 was stored without
complaint. Each package here is built with the library's own writer (``seal_package``) and the
provider's real key, so the only thing wrong with it is its content.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.worlds import PASS, World, build_world
from xinan.crypto import get_suite
from xinan.errors import IntegrityError, VerificationError
from xinan.fileio import atomic_writer
from xinan.formats.ingest_rejects import FORMAT as REJECTS_FORMAT
from xinan.formats.ingest_rejects import verify_rejects
from xinan.formats.package import PackageMeta, SealRecord, seal_package
from xinan.keys import Keyring
from xinan.policy.catalogue import load_policy

LEGAL = "法人及非法人组织"

pytestmark = pytest.mark.usefixtures("fast_kdf")


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=12, kind="penalty")


def _forge(
    w: World,
    name: str,
    rows: list[dict[str, str]],
    *,
    clear: tuple[str, ...],
    sealed: tuple[str, ...],
) -> Path:
    """A package signed by the provider's real key, with any layout and values we like."""
    pol = load_policy(None)
    ring = Keyring(w.ring("prov"))
    amr = ring.unlock("amr", PASS)
    plat = ring.get_public("platform")
    meta = PackageMeta(pol.id, pol.version, "penalty", clear, sealed)
    recs = [
        SealRecord(f"r-{name}-{i:03d}", [r.get(c, "") for c in clear], [r[c] for c in sealed])
        for i, r in enumerate(rows)
    ]
    out = w.root / "prov" / f"{name}.xpkg"
    with atomic_writer(out, binary=True) as f:
        seal_package(
            f,
            recs,
            suite=get_suite(amr.info.suite),
            sender=amr,
            recipients=[plat],
            meta=meta,
            now=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        )
    return out


def _layout() -> tuple[tuple[str, ...], tuple[str, ...]]:
    k = load_policy(None).kind("penalty")
    clear = tuple(f.name for f in k.fields if f.rules["submission"].op != "drop")
    sealed = tuple(f.name for f in k.fields if f.sealed)
    return clear, sealed


def _ingest(w: World, pkg: Path, rejects: Path) -> Any:
    return w.run(
        "plat", "platform", "vault", "ingest", str(pkg), "--vault", str(w.vault),
        "--rejects", str(rejects), "--json",
    )  # fmt: skip


def _count(w: World) -> int:
    return len(w.js("plat", "platform", "vault", "list", "--vault", str(w.vault),
                    "--limit", "100000")["records"])  # fmt: skip


def _report(w: World, path: Path) -> Any:
    plat = Keyring(w.ring("plat")).get_public("platform")
    return verify_rejects(path.read_bytes(), trust=lambda kid: plat if kid == plat.key_id else None)


def _ingest_entries(w: World) -> list[dict[str, Any]]:
    return [e for e in w.entries("plat") if e.get("type") == "ingest"]


def test_the_issues_package_is_refused_and_every_row_reported(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    before = _count(w)
    rows = [dict(r) for r in w.people]
    legal = [i for i, r in enumerate(rows) if r["行政相对人类别"] == LEGAL]
    rows[legal[0]]["统一社会信用代码"] = _bad_check(rows[legal[0]]["统一社会信用代码"])
    rows[1]["罚款金额"] = "-5"
    rows[2]["处罚决定日期"] = "2026-02-30"
    for r in rows:
        r["宗教信仰"] = "某教"
    clear, sealed = _layout()
    pkg = _forge(
        w,
        "issue",
        rows,
        clear=(*clear, "证件号码", "宗教信仰"),
        sealed=tuple(s for s in sealed if s != "证件号码"),
    )
    rej = w.root / "plat" / "issue.rejects"
    r = _ingest(w, pkg, rej)
    assert r.exit_code == 65, r.output
    assert "证件号码" in r.output and "宗教信仰" in r.output
    assert _count(w) == before  # nothing of it was stored
    rep = _report(w, rej)
    assert rep.header["format"] == REJECTS_FORMAT
    assert rep.counts == {"records": len(rows), "stored": 0, "rejected": len(rows)}
    assert [x["row"] for x in rep.rejects] == list(range(1, len(rows) + 1))
    fields = {x["field"] for x in rep.rejects}
    assert fields <= {"证件号码", "宗教信仰"} and fields
    assert all(x["reason"] for x in rep.rejects)
    e = _ingest_entries(w)[-1]
    assert e["outcome"] == "failed"
    assert e["objects"]["counts"] == {"records": len(rows), "stored": 0, "rejected": len(rows)}
    # no clear value of the package reached the report or the log
    text = rej.read_text("utf-8") + w.log("plat").read_text("utf-8")
    assert rows[3]["证件号码"] not in text and "某教" not in text


def test_bad_rows_are_rejected_the_others_stored_and_counts_reconcile(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    before = _count(w)
    rows = [dict(r) for r in w.people]
    legal = [i for i, r in enumerate(rows) if r["行政相对人类别"] == LEGAL]
    bad = {
        legal[0]: "统一社会信用代码",
        legal[1]: "罚款金额",
        legal[2]: "处罚决定日期",
    }
    rows[legal[0]]["统一社会信用代码"] = _bad_check(rows[legal[0]]["统一社会信用代码"])
    rows[legal[1]]["罚款金额"] = "-5"
    rows[legal[2]]["处罚决定日期"] = "2026-02-30"
    other = next(i for i in range(len(rows)) if i not in bad)
    rows[other]["违法行为严重程度"] = "极其严重"  # not in the enumeration
    bad[other] = "违法行为严重程度"
    clear, sealed = _layout()
    pkg = _forge(w, "rows", rows, clear=clear, sealed=sealed)
    rej = w.root / "plat" / "rows.rejects"
    r = _ingest(w, pkg, rej)
    assert r.exit_code == 3, r.output
    out = json.loads(r.stdout)
    assert out["records"] == len(rows) - len(bad)
    assert out["rejected"] == len(bad)
    assert _count(w) == before + len(rows) - len(bad)
    rep = _report(w, rej)
    assert rep.counts == {
        "records": len(rows),
        "stored": len(rows) - len(bad),
        "rejected": len(bad),
    }
    got = {x["row"]: x["field"] for x in rep.rejects}
    assert got == {i + 1: f for i, f in bad.items()}
    assert {x["record_id"] for x in rep.rejects} == {f"r-rows-{i:03d}" for i in bad}
    e = _ingest_entries(w)[-1]
    assert e["outcome"] == "success"
    c = e["objects"]["counts"]
    assert (c["records"], c["stored"], c["rejected"]) == (len(rows), len(rows) - len(bad), len(bad))
    # ingesting it again changes nothing and says so
    r2 = _ingest(w, pkg, w.root / "plat" / "again.rejects")
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["already_ingested"] is True
    assert _count(w) == before + len(rows) - len(bad)


def test_a_sealed_field_sent_only_in_clear_is_refused(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    clear, sealed = _layout()
    pkg = _forge(
        w,
        "leak",
        [dict(r) for r in w.people],
        clear=(*clear, "法定代表人证件号码"),
        sealed=tuple(s for s in sealed if s != "法定代表人证件号码"),
    )
    rej = w.root / "plat" / "leak.rejects"
    r = _ingest(w, pkg, rej)
    assert r.exit_code == 65
    rep = _report(w, rej)
    assert {x["field"] for x in rep.rejects} == {"法定代表人证件号码"}
    assert "sealed" in rep.rejects[0]["reason"]


def test_an_unclassified_column_is_refused(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    clear, sealed = _layout()
    rows = [dict(r, 爱好="钓鱼") for r in w.people]
    pkg = _forge(w, "extra", rows, clear=(*clear, "爱好"), sealed=sealed)
    rej = w.root / "plat" / "extra.rejects"
    assert _ingest(w, pkg, rej).exit_code == 65
    rep = _report(w, rej)
    assert {x["field"] for x in rep.rejects} == {"爱好"}
    assert "unclassified" in rep.rejects[0]["reason"] or "catalogue" in rep.rejects[0]["reason"]


def test_a_clear_twin_must_be_the_policys_submission_form(tmp_path: Path, monkeypatch: Any) -> None:
    """A clear value that is not what the policy's submission view makes of the record (here a
    decision date in another spelling) is rejected: the vault reads facts from the clear part."""
    w = _world(tmp_path, monkeypatch)
    rows = [dict(r) for r in w.people]
    rows[0]["处罚决定日期"] = " " + rows[0]["处罚决定日期"]
    clear, sealed = _layout()
    pkg = _forge(w, "form", rows, clear=clear, sealed=sealed)
    rej = w.root / "plat" / "form.rejects"
    assert _ingest(w, pkg, rej).exit_code == 3
    rep = _report(w, rej)
    assert [(x["row"], x["field"]) for x in rep.rejects] == [(1, "处罚决定日期")]


def test_the_rejects_report_is_signed(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    rows = [dict(r) for r in w.people]
    rows[0]["罚款金额"] = "-5"
    clear, sealed = _layout()
    pkg = _forge(w, "sig", rows, clear=clear, sealed=sealed)
    rej = w.root / "plat" / "sig.rejects"
    assert _ingest(w, pkg, rej).exit_code == 3
    data = rej.read_bytes()
    plat = Keyring(w.ring("plat")).get_public("platform")
    trust = lambda kid: plat if kid == plat.key_id else None  # noqa: E731
    verify_rejects(data, trust=trust)
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        with pytest.raises((IntegrityError, VerificationError)):
            verify_rejects(bytes(flipped), trust=trust)
    with pytest.raises((IntegrityError, VerificationError)):
        verify_rejects(data, trust=lambda kid: None)


def test_a_clean_ingest_with_rejects_is_a_signed_receipt(tmp_path: Path, monkeypatch: Any) -> None:
    """CONTROLS.md 16: with ``--rejects`` the platform returns a signed report even when
    nothing is rejected — the receipt: which package, from whom, to which platform key and
    vault, when, and the counts (docs/ingest-rejects.md §6)."""
    w = _world(tmp_path, monkeypatch)
    clear, sealed = _layout()
    rows = [dict(r) for r in w.people]
    pkg = _forge(w, "clean", rows, clear=clear, sealed=sealed)
    receipt = w.root / "plat" / "clean.receipt"
    r = _ingest(w, pkg, receipt)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    rep = _report(w, receipt)
    ring = Keyring(w.ring("plat"))
    assert rep.counts == {"records": len(rows), "stored": len(rows), "rejected": 0}
    assert rep.rejects == []
    h = rep.header
    assert h["package"] == out["package_id"] and h["sender"] == out["sender_key_id"]
    assert h["platform"] == ring.get_public("platform").key_id
    assert h["created"].endswith("Z") and h["kind"] == "penalty"
    # a receipt names one package: another package's receipt does not name this one
    other = _forge(w, "other", rows[:2], clear=clear, sealed=sealed)
    r2 = _ingest(w, other, w.root / "plat" / "other.receipt")
    assert r2.exit_code == 0, r2.output
    assert _report(w, w.root / "plat" / "other.receipt").header["package"] != h["package"]
    # only the platform key's signature makes it a receipt
    with pytest.raises((IntegrityError, VerificationError)):
        verify_rejects(receipt.read_bytes(), trust=lambda kid: None)


def test_every_ingest_writes_a_receipt_naming_the_packages_bytes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """CONTROLS.md 16 (docs/ingest-rejects.md §6): without ``--rejects`` and with nothing
    rejected, the platform still writes its signed receipt beside the package; the receipt
    names the package by the digest of its bytes (the suite's hash, as ``sha256sum`` prints it),
    so it holds for exactly the bytes received and for no other package under the same id."""
    import hashlib

    w = _world(tmp_path, monkeypatch)
    clear, sealed = _layout()
    rows = [dict(r) for r in w.people]
    pkg = _forge(w, "plain", rows, clear=clear, sealed=sealed)
    r = w.run("plat", "platform", "vault", "ingest", str(pkg), "--vault", str(w.vault), "--json")
    assert r.exit_code == 0, r.output
    receipt = pkg.with_name(pkg.name + ".rejects.jsonl")
    assert json.loads(r.stdout)["rejects_file"] == str(receipt)
    rep = _report(w, receipt)
    assert rep.header["format"] == "xinan-ingest-rejects/2"
    assert rep.counts == {"records": len(rows), "stored": len(rows), "rejected": 0}
    data = pkg.read_bytes()
    assert rep.package_digest == "sha256:" + hashlib.sha256(data).hexdigest()
    rep.check_package(data)
    # the same id, other bytes (the provider signs a second package under that id): refused
    twin = _forge(w, "twin", rows[:3], clear=clear, sealed=sealed)
    other = bytearray(twin.read_bytes())
    with pytest.raises(IntegrityError, match="other bytes"):
        rep.check_package(bytes(other))
    with pytest.raises(IntegrityError):
        rep.check_package(data + b"\n")
    # the digest is signed: changing it (even to the twin's) breaks the signature
    forged = receipt.read_bytes().replace(
        rep.package_digest.encode(), ("sha256:" + hashlib.sha256(other).hexdigest()).encode()
    )
    with pytest.raises((IntegrityError, VerificationError)):
        _report_bytes(w, forged)


def _report_bytes(w: World, data: bytes) -> Any:
    plat = Keyring(w.ring("plat")).get_public("platform")
    return verify_rejects(data, trust=lambda kid: plat if kid == plat.key_id else None)


def _bad_check(uscc: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    last = uscc[-1]
    return uscc[:-1] + alphabet[(alphabet.index(last) + 1) % len(alphabet)]


def test_a_clear_twin_that_is_not_the_view_of_its_sealed_original_is_rejected(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """person: 出生日期 travels sealed, its clear twin is the birth year (rule ``year``). The
    provider's own package is opened and sealed again with one twin saying another year."""
    from xinan.formats.package import open_package

    w = build_world(tmp_path, monkeypatch, people=30, kind="person")
    plat = Keyring(w.ring("plat")).unlock("platform", PASS)
    prov = Keyring(w.ring("prov"))
    opened: list[Any] = []
    assert w.package is not None
    with w.package.open("rb") as f:
        info = open_package(f, opened.append, identity=plat, trust=prov.get_public)
    at = info.clear_fields.index("出生日期")
    recs = []
    for i, o in enumerate(opened[:5]):
        clear = list(o.clear)
        if i == 2:
            clear[at] = str(int(clear[at]) + 1)
        recs.append(SealRecord(f"r-twin-{i}", clear, [v or "" for v in o.sealed]))
    amr = prov.unlock("amr", PASS)
    out = w.root / "prov" / "twin.xpkg"
    with atomic_writer(out, binary=True) as f:
        seal_package(
            f,
            recs,
            suite=get_suite(amr.info.suite),
            sender=amr,
            recipients=[prov.get_public("platform")],
            meta=PackageMeta(
                info.policy_id,
                info.policy_version,
                "person",
                info.clear_fields,
                info.sealed_fields,
            ),
            now=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        )
    rej = w.root / "plat" / "twin.rejects"
    r = _ingest(w, out, rej)
    assert r.exit_code == 3, r.output
    rep = _report(w, rej)
    assert [(x["record_id"], x["field"]) for x in rep.rejects] == [("r-twin-2", "出生日期")]


@pytest.mark.parametrize("workers", [1, 2])
def test_ingest_on_workers_keeps_package_order_across_blocks(
    tmp_path: Path, monkeypatch: Any, workers: int
) -> None:
    """docs/vault.md §5: worker processes verify, open and check blocks of the package; the
    parent writes them in package order. With blocks of a few records each, every record is
    stored in package order or reported with its row, whatever the number of workers."""
    from xinan.formats.package import stream

    monkeypatch.setattr(stream, "BLOCK_BYTES", 2048)  # a few records per block
    w = _world(tmp_path, monkeypatch)
    before = _count(w)
    rows = [dict(r) for r in w.people]
    bad = {2: "罚款金额", 7: "处罚决定日期"}
    rows[2]["罚款金额"] = "-5"
    rows[7]["处罚决定日期"] = "2026-02-30"
    clear, sealed = _layout()
    pkg = _forge(w, "blocks", rows, clear=clear, sealed=sealed)
    assert pkg.stat().st_size > 4 * 2048  # several blocks
    rej = w.root / "plat" / "blocks.rejects"
    r = w.run(
        "plat", "platform", "vault", "ingest", str(pkg), "--vault", str(w.vault),
        "--rejects", str(rej), "--workers", str(workers), "--json",
    )  # fmt: skip
    assert r.exit_code == 3, r.output
    out = json.loads(r.stdout)
    assert (out["records"], out["rejected"], out["in_package"]) == (len(rows) - 2, 2, len(rows))
    assert out["subjects"] == len({r_["证件号码"] or r_["统一社会信用代码"] for i, r_ in
                                   enumerate(rows) if i not in bad})  # fmt: skip
    assert [(x["row"], x["field"]) for x in _report(w, rej).rejects] == [
        (i + 1, f) for i, f in sorted(bad.items())
    ]
    listed = w.js("plat", "platform", "vault", "list", "--vault", str(w.vault), "--limit",
                  "100000")["records"]  # fmt: skip
    assert len(listed) == before + len(rows) - 2
    ids = [x["record_id"] for x in listed if x["record_id"].startswith("r-blocks-")]
    assert ids == [f"r-blocks-{i:03d}" for i in range(len(rows)) if i not in bad]


def test_an_altered_copy_of_an_ingested_package_is_refused_and_logged(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A package whose id is already in the vault is verified again; when that fails (a
    byte changed in a record), the refusal is an ingest entry with outcome failed."""
    w = _world(tmp_path, monkeypatch)
    clear, sealed = _layout()
    pkg = _forge(w, "again", [dict(r) for r in w.people], clear=clear, sealed=sealed)
    assert _ingest(w, pkg, w.root / "plat" / "a.rejects").exit_code == 0
    data = bytearray(pkg.read_bytes())
    at = data.index(b'"r-again-003"') + 3
    data[at] = ord("X")  # the record id r-again-003 becomes r-aXain-003
    altered = w.root / "prov" / "altered.xpkg"
    altered.write_bytes(bytes(data))
    before = len(_ingest_entries(w))
    r = _ingest(w, altered, w.root / "plat" / "b.rejects")
    assert r.exit_code != 0
    entries = _ingest_entries(w)
    assert len(entries) == before + 1 and entries[-1]["outcome"] == "failed"
