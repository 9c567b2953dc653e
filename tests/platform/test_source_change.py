"""Revocation and correction at the source (山东省社会信用条例 第四十条, 行政处罚法 第四十八条;
CONTROLS.md row 25; docs/source-change.md): a signed change from the record's own provider takes
the record out of every view at once; a correction's new record replaces it and the old version
stays sealed in the vault; a change from another provider is refused and logged."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import pytest

from tests.support.worlds import PASS, build_world, unlocked_vault
from xinan.errors import SourceChangeInvalid, XinanError
from xinan.formats.source_change import Action, SourceChange, read_source_change, sign_source_change
from xinan.keys import Keyring

BASIS = "枣市监撤〔2026〕3号 撤销原处罚决定"


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    return build_world(tmp_path, monkeypatch, kind="penalty", people=40)


def public_ids(w, out: str = "public.csv") -> dict[str, dict[str, str]]:
    w.js("plat", "platform", "vault", "disclose", "--audience", "public", "-o", out,
         "--vault", str(w.vault))  # fmt: skip
    with (w.root / out).open(encoding="utf-8-sig", newline="") as f:  # a BOM (issue 15)
        return {r["record_id"]: r for r in csv.DictReader(f)}


def listed_ids(w) -> set[str]:
    out = w.js("plat", "platform", "vault", "list", "--vault", str(w.vault), "--limit", "1000")
    return {r["record_id"] for r in out["records"]}


def package_order(w) -> list[str]:
    """Record ids of the world's package in the package's (and the CSV's) order."""
    with unlocked_vault(w) as v:
        pkg = v.get(next(iter(listed_ids(w)))).package_id
        return v.store.package_record_ids(pkg)


def revoke(w, rid: str, actor: str = "amr", decided: str = "2026-11-24") -> dict:
    return w.js("prov", actor, "source", "revoke", rid, "--basis", BASIS, "--decided", decided,
                "-o", str(w.root / "change.json"))  # fmt: skip


def test_a_revocation_takes_the_record_out_of_every_view_at_once(world):
    w = world
    shown = public_ids(w)
    rid = next(iter(shown))
    assert rid in listed_ids(w)
    c = revoke(w, rid)
    assert c["action"] == "revoke" and c["records"] == [rid]
    prov = w.entries("prov")[-1]
    assert (prov["type"], prov["objects"]["ref"]) == ("revoke", f"change:{c['id']}")

    s = w.js("plat", "platform", "source", "apply", str(w.root / "change.json"),
             "--vault", str(w.vault))  # fmt: skip
    assert s["records"] == [rid] and not s["already"] and s["late_days"] == 0
    e = w.entries("plat")[-1]
    assert (e["type"], e["outcome"], e["objects"]["ref"]) == (
        "revoke",
        "success",
        f"change:{c['id']}",
    )
    assert e["objects"]["record_ids"] == [rid] and e["why"]["basis"] == BASIS
    # gone from the public view, the platform's list, and any share from now on
    assert rid not in public_ids(w, "public2.csv")
    assert rid not in listed_ids(w)
    with unlocked_vault(w) as v:
        assert rid not in v.store.live_record_ids([rid])
        assert v.get(rid).status["archived_at"]  # kept, sealed, out of every view
    # applying it again changes nothing and logs no second change
    n = len(w.entries("plat"))
    again = w.js("plat", "platform", "source", "apply", str(w.root / "change.json"),
                 "--vault", str(w.vault))  # fmt: skip
    assert again["already"] is True
    assert all(x["type"] != "revoke" for x in w.entries("plat")[n:])


def test_a_change_from_another_provider_is_refused_and_logged(world):
    w = world
    rid = next(iter(public_ids(w)))
    w.ok("prov", "provsa", "keygen", "--id", "amr2", "--role", "provider")
    w.ok("plat", "sysadm", "keys", "add", str(w.ring("prov") / "public" / "amr2.pub"))
    revoke(w, rid, actor="amr2")
    r = w.run("plat", "platform", "source", "apply", str(w.root / "change.json"),
              "--vault", str(w.vault))  # fmt: skip
    assert r.exit_code == 77, r.output
    assert "was not submitted by amr2" in r.output
    e = w.entries("plat")[-1]
    assert (e["type"], e["outcome"], e["objects"]["ref"]) == (
        "revoke",
        "denied",
        "rule:source-change-sender",
    )
    assert rid in public_ids(w, "after.csv")  # nothing changed


def test_a_correction_replaces_the_values_and_keeps_the_old_version_sealed(world):
    w = world
    shown = public_ids(w)
    order = package_order(w)
    rid = next(r for r in order if r in shown)
    row = dict(w.people[order.index(rid)])
    row["处罚内容"] = "罚款人民币0.03万元"
    row["罚款金额"] = "0.03"
    fixed_csv = w.root / "prov" / "fixed.csv"
    with fixed_csv.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(row))
        out.writeheader()
        out.writerow(row)
    fixed = w.root / "prov" / "fixed.xpkg"
    w.ok("prov", "amr", "seal", str(fixed_csv), "-o", str(fixed), "--to", "platform")
    c = w.js("prov", "amr", "source", "correct", rid, "--package", str(fixed),
             "--basis", "枣市监变〔2026〕4号 变更罚款金额", "--decided", "2026-11-24",
             "-o", str(w.root / "change.json"))  # fmt: skip
    assert c["package"]["count"] == 1
    # without the package the correction is refused (and logged)
    r = w.run("plat", "platform", "source", "apply", str(w.root / "change.json"),
              "--vault", str(w.vault))  # fmt: skip
    assert r.exit_code != 0 and w.entries("plat")[-1]["outcome"] == "denied"
    s = w.js("plat", "platform", "source", "apply", str(w.root / "change.json"),
             "--package", str(fixed), "--vault", str(w.vault))  # fmt: skip
    (new,) = s["replaced_by"]
    after = public_ids(w, "after.csv")
    assert rid not in after and new in after
    assert after[new]["处罚内容"] == "罚款人民币0.03万元"
    types = [e["type"] for e in w.entries("plat")[-3:]]
    assert "correct" in types and "ingest" in types
    # the old version is kept, sealed, out of every view, linked to its replacement
    with unlocked_vault(w) as v:
        old = v.get(rid)
        assert old.status["archived_at"] and old.blobs == v.get(rid).blobs
        (link,) = v.store.source_changes_of(rid)
        assert link[2:4] == ("correct", new)
    archive = w.js("plat", "auditadm", "vault", "archive", "--vault", str(w.vault))
    assert rid in {r["record_id"] for r in archive["records"]}


def test_a_late_change_is_applied_and_reported_late(world):
    w = world
    rid = next(iter(public_ids(w)))
    revoke(w, rid, decided="2026-11-02")  # three working days ended on 2026-11-05
    s = w.js("plat", "platform", "source", "apply", str(w.root / "change.json"),
             "--vault", str(w.vault))  # fmt: skip
    assert s["deadline"] == "2026-11-05" and s["late_days"] > 0
    assert w.entries("plat")[-1]["objects"]["counts"]["late_days"] == s["late_days"]


def test_only_the_platform_applies_and_only_a_provider_issues(world):
    w = world
    rid = next(iter(public_ids(w)))
    revoke(w, rid)
    r = w.run("plat", "secadm", "source", "apply", str(w.root / "change.json"),
              "--vault", str(w.vault))  # fmt: skip
    assert r.exit_code == 77
    assert w.entries("plat")[-1]["objects"]["ref"] == "operation:source.apply"
    r = w.run("prov", "provsa", "source", "revoke", rid, "--basis", BASIS,
              "--decided", "2026-11-24", "-o", "x.json")  # fmt: skip
    assert r.exit_code == 77 and not (w.root / "x.json").exists()


# -- the file format: signed, canonical, every byte matters --------------------------------------
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


@pytest.fixture()
def signed(tmp_path, fast_kdf):
    ring = Keyring(tmp_path / "keys")
    ring.generate("amr", "provider", "intl", PASS, now=NOW)
    ring.generate("platform", "platform", "intl", PASS, now=NOW)
    me = ring.unlock("amr", PASS)
    change = SourceChange(
        id="sc1" + "a" * 32,
        action=Action.REVOKE,
        issued="2026-11-25T01:00:00Z",
        decided=date(2026, 11, 24),
        basis=BASIS,
        policy="credit-default@1",
        sender_id="amr",
        sender_key_id=me.key_id,
        records=("r1", "r2"),
    )
    return sign_source_change(change, me), ring, change


def test_the_change_file_round_trips(signed):
    data, ring, change = signed
    assert read_source_change(data, [ring.get_public("amr")]) == change


def test_flipping_any_byte_of_a_change_file_is_caught(signed):
    data, ring, _ = signed
    trust = [ring.get_public("amr")]
    for i in range(len(data)):
        bad = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(XinanError):
            read_source_change(bad, trust)


def test_a_change_signed_by_a_non_provider_or_naming_an_id_is_refused(signed, tmp_path):
    data, ring, change = signed
    with pytest.raises(SourceChangeInvalid, match="not in the trust store"):
        read_source_change(data, [ring.get_public("platform")])
    with pytest.raises(SourceChangeInvalid, match="identifier"):
        SourceChange(**{**change.__dict__, "basis": "当事人 11010519491231002X 撤销"})
    with pytest.raises(SourceChangeInvalid, match="names no package"):
        SourceChange(**{**change.__dict__, "package": "0" * 32, "package_digest": "x"})
    plat = ring.unlock("platform", PASS)
    with pytest.raises(SourceChangeInvalid):
        sign_source_change(change, plat)


def test_the_spec_example_fields_are_all_there(signed):
    data, _, _ = signed
    text = data.decode("utf-8")
    for member in ('"format": "xinan-source-change/1"', '"action": "revoke"', '"signature"'):
        assert member in text


def test_a_record_revoked_after_its_share_is_withheld_from_the_release(
    tmp_path, monkeypatch, fast_kdf
):
    """Every share at once: a share made before the revocation releases nothing of the
    revoked record (the querent cannot open it), the other records are released."""
    w = build_world(tmp_path, monkeypatch, people=6)
    subject = w.person(0)["证件号码"]
    consent = w.consent(subject)
    assert w.grant(subject, consent).exit_code == 0
    assert w.share().exit_code == 0
    (rec,) = w.js("plat", "platform", "vault", "list", "--vault", str(w.vault),
                  "--subject", subject)["records"]  # fmt: skip
    revoke(w, rec["record_id"])
    w.ok("plat", "platform", "source", "apply", str(w.root / "change.json"),
         "--vault", str(w.vault))  # fmt: skip
    out = str(w.root / "bank.release")
    r = w.js("plat", "platform", "release", "--vault", str(w.vault),
             "--package", str(w.root / "bank.xpkg"), "-o", out)  # fmt: skip
    assert r["records"] == 0 and r["withheld"] == 1


def test_destroying_a_revoked_record_shreds_its_change_rows(world):
    w = world
    rid = next(iter(public_ids(w)))
    revoke(w, rid)
    w.ok("plat", "platform", "source", "apply", str(w.root / "change.json"),
         "--vault", str(w.vault))  # fmt: skip
    with unlocked_vault(w) as v:
        assert len(v.store.source_changes_of(rid)) == 1
    w.ok("plat", "secadm", "destroy", "--record", rid, "--reason", "撤销后按规定删除", "--yes",
         "--vault", str(w.vault))  # fmt: skip
    with unlocked_vault(w) as v:
        assert v.store.source_changes_of(rid) == []


def test_a_change_outside_the_holiday_calendar_is_still_applied(world):
    """Fail closed: a decision from a year without a holiday schedule is withdrawn all the
    same; only its lateness is unknown (and said so)."""
    w = world
    rid = next(iter(public_ids(w)))
    revoke(w, rid, decided="2019-03-01")
    s = w.js("plat", "platform", "source", "apply", str(w.root / "change.json"),
             "--vault", str(w.vault))  # fmt: skip
    assert s["deadline"] is None and s["late_days"] is None
    assert "late_days" not in w.entries("plat")[-1]["objects"]["counts"]
    assert rid not in public_ids(w, "after.csv")
