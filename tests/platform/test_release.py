"""Per-record release (docs/package.md §6.3–§6.4, docs/vault.md §8.1): destruction reaches a
share sent earlier and not yet opened. Through the command line, with an injected clock: share
to the bank, destroy the subject's records with the destruction job, then `xinan release` has
no secret for them and the bank's open of the earlier share opens nothing of them; no trace of
the destroyed keys or secrets stays in the vault's files. Refusals of the release and of the
querent's open: no release file, a tampered one, one for another querent or share."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from tests.support.worlds import PASS, build_world
from xinan.errors import IntegrityError, KeyringError, VerificationError
from xinan.formats.package import open_package, verify_package
from xinan.formats.release import MEMBERS, open_release
from xinan.keys import Keyring
from xinan.platform.destruction import residue_scan, sqlite_files
from xinan.platform.vault import Vault

REASON = "异议核实后依法删除"


def _twice(people):
    """Person 0 gets a second record: row 1 carries the same resident ID (its other fields,
    phone, address, employer, stay its own)."""
    people[1]["证件号码"] = people[0]["证件号码"]


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch, people=6, prepare=_twice)
    w.subject = w.person(0)["证件号码"]
    return w


def grant_and_share(w, *, fields="手机号码,现住址", querent="bank", name="bank"):
    c = w.consent(w.subject, fields=fields, querent=querent)
    r = w.grant(w.subject, c, fields=fields, querent=querent, out=f"{name}.grant")
    assert r.exit_code == 0, r.output
    r = w.share(grant=f"{name}.grant", out=f"{name}.xpkg")
    assert r.exit_code == 0, r.output
    share = [e for e in w.entries("plat") if e["type"] == "share"][-1]
    return share["objects"]["record_ids"]


def destroy(w, rid, cert):
    r = w.js(
        "plat", "secadm", "destroy", "--yes", "--record", rid, "--reason", REASON,
        "--vault", str(w.vault), "-o", str(w.root / cert),
    )  # fmt: skip
    assert r["record_ids"] == [rid]


def released(w, out, pkg="bank.xpkg"):
    """`xinan release --json` of ``pkg`` to ``out``."""
    return w.js(
        "plat", "platform", "release", "--vault", str(w.vault),
        "--package", str(w.root / pkg), "-o", str(w.root / out),
    )  # fmt: skip


def last(w, party, type_):
    return [e for e in w.entries(party) if e["type"] == type_][-1]


def bank_ident(w, who="bank"):
    ring = Keyring(w.ring("bank"))
    return ring, ring.unlock(who, PASS)


def share_info(w, pkg="bank.xpkg"):
    ring = Keyring(w.ring("bank"))
    with (w.root / pkg).open("rb") as f:
        return verify_package(f, trust=ring.get_public)


def keys_rows(w, rid):
    """The key store's wrapped record key and wrapped release secrets of ``rid``."""
    con = sqlite3.connect(w.vault / "keys.db")
    try:
        found = []
        for table in ("record_keys", "release_secrets"):
            sql = f"SELECT wrapped FROM {table} WHERE record_id = ?"
            found.append([bytes(r[0]) for r in con.execute(sql, (rid,))])
        return tuple(found)
    finally:
        con.close()


def vault_files(w):
    return [*sqlite_files(w.vault / "vault.db"), *sqlite_files(w.vault / "keys.db")]


# -- the main path: destruction reaches the unopened share -----------------------------------
def test_destruction_reaches_a_share_sent_before_and_not_yet_opened(world):
    w = world
    a, b = grant_and_share(w, fields="手机号码,现住址,工作单位")
    people = {p["手机号码"]: p for p in w.people}
    # a release made before anything is destroyed opens both records
    assert w.release(out="before.release").exit_code == 0
    ring, bank = bank_ident(w)
    info = share_info(w)
    early = open_release(
        (w.root / "before.release").read_bytes(), share=info, identity=bank, trust=ring.get_public
    )
    assert sorted(early.secrets) == sorted([a, b]) and early.withheld == 0

    # what a residue scan must not find after the destruction: record A's key (raw and as
    # stored), its release secret (raw and as stored); B's rows are the positive control
    plat = Keyring(w.ring("plat")).unlock("platform", PASS)
    with Vault.open(w.vault) as v:
        v.unlock(plat)
        raw_key_a = v.record_key(a)
    rk_a, rs_a = keys_rows(w, a)
    rk_b, rs_b = keys_rows(w, b)
    assert len(rk_a) == len(rs_a) == len(rs_b) == 1
    needles = [raw_key_a, early.secrets[a], *rk_a, *rs_a]
    assert residue_scan(vault_files(w), [*rk_a, *rs_a]), "the scan sees stored rows"

    # destroy record A with the lead's destruction job (sec-admin, crypto-shredding)
    w.clock.advance(minutes=5)
    destroy(w, a, "a.cert")
    assert residue_scan(vault_files(w), needles) == []
    assert residue_scan(vault_files(w), [*rk_b, *rs_b]), "B's rows are untouched"

    # a release made now has no secret for A: it is withheld, and counted
    r = released(w, "bank.release")
    assert (r["records"], r["withheld"]) == (1, 1)
    e = last(w, "plat", "share")
    assert e["outcome"] == "success" and e["why"]["purpose"] == "release"
    assert e["objects"]["record_ids"] == [b]
    assert e["objects"]["counts"] == {"records": 1, "withheld": 1}
    assert e["subjects"] and all(s.startswith("ps1.") for s in e["subjects"])

    # the bank opens the EARLIER share package: B opens, nothing of A is written
    o = w.js("bank", "bank", "open", str(w.root / "bank.xpkg"), "--key", "bank",
             "--grant", str(w.root / "bank.grant"), "--release", str(w.root / "bank.release"),
             "-o", str(w.root / "bank.csv"))  # fmt: skip
    assert (o["written"], o["withheld"], o["withheld_ids"]) == (1, 1, [a])
    rows = w.opened()
    assert [row["record_id"] for row in rows] == [b]
    assert people[rows[0]["手机号码"]]["证件号码"] == w.subject
    out = (w.root / "bank.csv").read_text("utf-8-sig")
    person_a = next(p for p in w.people[:2] if p["手机号码"] not in out)
    for col in ("手机号码", "工作单位"):  # sealed and clear fields alike
        assert person_a[col] not in out
    opened = last(w, "bank", "open")
    assert opened["outcome"] == "success" and opened["objects"]["counts"]["withheld"] == 1
    text = w.run("bank", "bank", "open", str(w.root / "bank.xpkg"), "--key", "bank",
                 "--grant", str(w.root / "bank.grant"), "--release", str(w.root / "bank.release"),
                 "-o", str(w.root / "again.csv")).output  # fmt: skip
    assert "1 record(s) withheld by the platform (destroyed or no longer releasable)" in text
    # the documented limit (docs/package.md §6.3): a clear field travels in clear in the
    # package, so its holder can read A's 工作单位 without any key; the tool never writes it
    assert person_a["工作单位"].encode() in (w.root / "bank.xpkg").read_bytes()

    # and destroying B as well: the next release is empty, the open writes nothing
    destroy(w, b, "b.cert")
    assert residue_scan(vault_files(w), [*rk_b, *rs_b]) == []
    r = released(w, "none.release")
    assert (r["records"], r["withheld"]) == (0, 2)
    late = open_release(
        (w.root / "none.release").read_bytes(), share=info, identity=bank, trust=ring.get_public
    )
    assert dict(late.secrets) == {} and late.withheld == 2
    o = w.js("bank", "bank", "open", str(w.root / "bank.xpkg"), "--key", "bank",
             "--grant", str(w.root / "bank.grant"), "--release", str(w.root / "none.release"),
             "-o", str(w.root / "none.csv"))  # fmt: skip
    assert (o["written"], o["withheld"]) == (0, 2)
    assert w.opened("none.csv") == []

    # a release file handed over BEFORE the destruction is like opened plaintext: with the
    # share it still opens offline (docs/package.md §6.3, docs/vault.md §8.1) — the bank's
    # own audit log names that open; the platform cannot recall it
    got = []
    with (w.root / "bank.xpkg").open("rb") as f:
        open_package(f, got.append, identity=bank, trust=ring.get_public, release=early.lookup())
    assert sorted(g.record_id for g in got) == sorted([a, b])

    for party, actor in (("plat", "auditadm"), ("bank", "bank")):
        assert w.run(party, actor, "audit", "verify").exit_code == 0
    for cert in ("a.cert", "b.cert"):
        v = w.run("plat", None, "destroy", "verify", str(w.root / cert),
                  "--audit-log", str(w.log("plat")))  # fmt: skip
        assert v.exit_code == 0, v.output


def test_records_no_longer_shareable_are_withheld_and_return_when_shareable(world):
    """An objection (disputed_at set) withholds a record from the next release; once the
    objection is closed it is released again: the release follows the vault's state now."""
    w = world
    a, b = grant_and_share(w)
    con = sqlite3.connect(w.vault / "vault.db")
    con.execute(
        "UPDATE records SET disputed_at = ? WHERE record_id = ?", ("2026-11-25T01:00:00Z", a)
    )
    con.commit()
    con.close()
    r = released(w, "bank.release")
    assert (r["records"], r["withheld"]) == (1, 1)
    assert w.open().exit_code == 0
    assert [row["record_id"] for row in w.opened()] == [b]
    con = sqlite3.connect(w.vault / "vault.db")
    con.execute("UPDATE records SET disputed_at = NULL WHERE record_id = ?", (a,))
    con.commit()
    con.close()
    assert w.release().exit_code == 0
    assert w.open(out="all.csv").exit_code == 0
    assert sorted(row["record_id"] for row in w.opened("all.csv")) == sorted([a, b])


# -- the querent's refusals --------------------------------------------------------------------
def test_open_without_release_is_refused_with_a_hint(world):
    w = world
    grant_and_share(w)
    r = w.open(release=None)
    assert r.exit_code == 2
    assert "released per record" in r.output and "release --package" in r.output
    assert not (w.root / "bank.csv").exists()
    e = last(w, "bank", "open")
    assert e["outcome"] == "denied" and e["objects"]["ref"] == "rule:release-needed"


def test_tampered_release_is_rejected(world):
    w = world
    grant_and_share(w)
    assert w.release().exit_code == 0
    data = (w.root / "bank.release").read_bytes()
    doc = json.loads(data)
    assert tuple(doc) == MEMBERS and data.endswith(b"\n") and data.count(b"\n") == 1
    ring, bank = bank_ident(w)
    info = share_info(w)
    # every byte flipped: refused (shape, canonical form, signature, unwrap), never opened
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises((VerificationError, IntegrityError)):
            open_release(bytes(bad), share=info, identity=bank, trust=ring.get_public)
    # non-canonical forms of the same content: refused before the signature is looked at
    for variant in (
        data.rstrip(b"\n"),
        data + b"\n",
        json.dumps(doc, ensure_ascii=False, indent=1).encode() + b"\n",
        data.replace(b'{"format"', b'{"format":"x","format"', 1),
    ):
        with pytest.raises(VerificationError):
            open_release(variant, share=info, identity=bank, trust=ring.get_public)
    # an edited count (more withheld) with the signature left as it was
    edited = {**doc, "records": doc["records"] + 1}
    forged = json.dumps(edited, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(IntegrityError, match="signature"):
        open_release(forged, share=info, identity=bank, trust=ring.get_public)
    # through the command line: refused, logged, no output
    (w.root / "forged.release").write_bytes(forged)
    r = w.open(release="forged.release")
    assert r.exit_code != 0 and "signature" in r.output
    assert not (w.root / "bank.csv").exists()
    e = last(w, "bank", "open")
    assert e["outcome"] == "denied" and e["objects"]["ref"] == "rule:release-valid"


def test_release_for_another_querent_or_another_share_is_rejected(world):
    w = world
    grant_and_share(w)
    grant_and_share(w, querent="bank2", name="bank2")
    assert w.release().exit_code == 0
    assert w.release("bank2.xpkg").exit_code == 0
    ring, bank = bank_ident(w)
    _, bank2 = bank_ident(w, "bank2")
    info = share_info(w)
    data = (w.root / "bank.release").read_bytes()
    # the bank's release, held by another querent key: not for it
    with pytest.raises(VerificationError, match="for querent key"):
        open_release(data, share=info, identity=bank2, trust=ring.get_public)
    # bank2's release (another share, another querent) with the bank's share
    with pytest.raises(VerificationError, match="does not match the share") as exc:
        open_release(
            (w.root / "bank2.release").read_bytes(),
            share=info,
            identity=bank,
            trust=ring.get_public,
        )
    assert "releases share" in str(exc.value) and "for querent key" in str(exc.value)
    r = w.open(release="bank2.release")
    assert r.exit_code != 0 and "does not match the share" in r.output
    assert not (w.root / "bank.csv").exists()
    assert last(w, "bank", "open")["objects"]["ref"] == "rule:release-valid"
    # even past the checks the secrets are bound to their querent: bank2's key cannot unwrap
    # the bank's release (the wrap's associated data names the bank, and only its key opens it)
    doc = json.loads(data)
    with pytest.raises(IntegrityError):
        _unwrap_as(bank2, doc)


def _unwrap_as(identity, doc):
    import base64

    from xinan.formats import release as R

    aad = R._aad(doc)  # the associated data the file was wrapped with
    return identity.unwrap(base64.b64decode(doc["wrapped"]), R.INFO_RELEASE_KEY, aad)


def test_package_open_with_a_withheld_record():
    """Library level: a withheld answer (None) opens a share without any of that record's
    values; a wrong secret still fails the whole open (docs/package.md §6.3)."""
    from tests.formats.test_package import _share, ident, trust_of

    secrets_ = {"R-0000": b"\x01" * 32, "R-0002": b"\x02" * 32}
    data, _info, _ = _share(release="per-record", secrets_=secrets_)
    got = []
    open_package(
        io.BytesIO(data),
        got.append,
        identity=ident("intl", "bank"),
        trust=trust_of(ident("intl", "platsign")),
        release=lambda _pid, rid: secrets_[rid] if rid == "R-0000" else None,
    )
    assert [(g.record_id, g.sealed) for g in got] == [
        ("R-0000", ("13800130000",)),
        ("R-0002", (None,)),
    ]
    with pytest.raises(IntegrityError, match="R-0002"):
        open_package(
            io.BytesIO(data),
            [].append,
            identity=ident("intl", "bank"),
            trust=trust_of(ident("intl", "platsign")),
            release=lambda _pid, rid: secrets_[rid] if rid == "R-0000" else b"\x00" * 32,
        )


# -- the platform's refusals -------------------------------------------------------------------
def test_release_refusals_at_the_platform(world):
    w = world
    grant_and_share(w)
    # roles: only the platform releases (三权分立: not the sec-admin, not a querent)
    r = w.release(actor="secadm", out="x.release")
    assert r.exit_code == 77 and "may not release" in r.output
    assert last(w, "plat", "denied")["objects"]["ref"] == "operation:release"
    # not a share this vault made: the provider's submission package
    r = w.run("plat", "platform", "release", "--vault", str(w.vault),
              "--package", str(w.package), "-o", str(w.root / "x.release"))  # fmt: skip
    assert r.exit_code != 0 and "not a share this vault made" in r.output
    assert last(w, "plat", "share")["objects"]["ref"] == "rule:share-made-here"
    # the consent withdrawn after the share: nothing more is released under it
    consent_id = next(e for e in w.entries("plat") if e["type"] == "consent")["objects"]["ref"]
    w.ok("plat", "platform", "consent", "revoke", consent_id.split(":", 1)[1],
         "--vault", str(w.vault))  # fmt: skip
    r = w.release(out="x.release")
    assert r.exit_code == 77 and "revoked" in r.output
    e = last(w, "plat", "share")
    assert e["outcome"] == "denied" and e["why"]["purpose"] == "release"
    assert e["objects"]["ref"] == "rule:consent-valid" and e["subjects"][0].startswith("ps1.")
    assert not (w.root / "x.release").exists()
    # nothing above wrote a release file, and every refusal verifies in the log
    assert w.run("plat", "auditadm", "audit", "verify").exit_code == 0


def test_release_needs_the_unlocked_vault_and_writes_a_private_file(world):
    w = world
    grant_and_share(w)
    assert w.release().exit_code == 0
    assert (w.root / "bank.release").stat().st_mode & 0o777 == 0o600
    data = (w.root / "bank.release").read_bytes()
    # no clear value of the share's person in the file: ids and encrypted secrets only
    for col in ("证件号码", "手机号码", "现住址"):
        assert w.person(0)[col].encode() not in data
    # the secrets are wrapped under the vault key: a locked vault releases nothing
    ring = Keyring(w.ring("plat"))
    with Vault.open(w.vault) as v, pytest.raises(KeyringError, match="locked"):
        v.release(
            w.root / "bank.xpkg",
            w.root / "y.release",
            platform=ring.unlock("platform", PASS),
            keyring=ring,
            session=None,  # type: ignore[arg-type]  # refused before anything is logged
            now=w.clock(),
        )
    assert not (w.root / "y.release").exists()


def test_a_failed_share_leaves_no_release_secret_and_its_grant_unused(world, monkeypatch):
    """The release secrets are written in the key store's transaction, committed with the
    share's bookkeeping: a share that fails midway leaves neither secrets nor a used grant."""
    import xinan.platform.sharing

    w = world
    # every secret row reaches the database at once
    monkeypatch.setattr(xinan.platform.sharing, "_BATCH", 1)
    c = w.consent(w.subject)
    assert w.grant(w.subject, c).exit_code == 0
    keys = sqlite3.connect(w.vault / "keys.db", isolation_level=None)
    try:
        vdb = sqlite3.connect(w.vault / "vault.db")
        first, second = (
            r[0] for r in vdb.execute("SELECT record_id FROM records ORDER BY rowid LIMIT 2")
        )
        vdb.close()
        row = keys.execute("SELECT * FROM record_keys WHERE record_id = ?", (second,)).fetchone()
        keys.execute("DELETE FROM record_keys WHERE record_id = ?", (second,))
        # the share writes the first record's secret, then fails on the second (no key)
        r = w.share()
        assert r.exit_code != 0 and "no key" in r.output
        assert not (w.root / "bank.xpkg").exists()
        assert keys.execute("SELECT count(*) FROM release_secrets").fetchone()[0] == 0
        keys.execute("INSERT INTO record_keys VALUES (?, ?)", row)
    finally:
        keys.close()
    assert w.share().exit_code == 0  # the grant was not used up
    assert w.release().exit_code == 0 and w.open().exit_code == 0
    assert sorted(r["record_id"] for r in w.opened()) == sorted([first, second])
