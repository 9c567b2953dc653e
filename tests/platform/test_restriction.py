"""A data subject's deletion request before retention ends (CONTROLS.md 28; PIPL art. 47 ¶2;
docs/lifecycle.md §8): the record is *restricted* — stored and protected, refused for every use
but storage and the audit administrator's archive, logged, and destroyed at retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.sqlite import edit_db
from tests.support.worlds import PASS, World, build_world
from xinan.authn import TokenDir
from xinan.errors import AccessDenied, IntegrityError, UsageError
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext

pytestmark = pytest.mark.usefixtures("fast_kdf")


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=12, kind="penalty")


def _as(w: World, who: str) -> Platform:
    return Platform.open(
        PlatformContext(
            vault=w.vault,
            keyring=Keyring(w.ring("plat")),
            identity=who,
            passphrase=lambda _what: PASS,
            clock=w.clock,
            tokens=TokenDir(w.root / "tokens"),
        )
    )


def _restrict_one(w: World) -> tuple[str, str]:
    with _as(w, "secadm") as p:
        rec = p.list_records(limit=1)[0].record
        r = p.restrict(rec.record_id, by=rec.subjects[0], reason="本人申请删除（保存期未满）")
        assert r.record_id == rec.record_id and r.requested_by == rec.subjects[0]
    return rec.record_id, rec.subjects[0]


def test_a_restricted_record_leaves_every_use_but_storage_and_the_archive(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    rid, subject = _restrict_one(w)
    # logged before the commit, naming the record and the subject's pseudonym
    e = [x for x in w.entries("plat") if x["type"] == "restrict"]
    assert len(e) == 1 and e[0]["objects"]["record_ids"] == [rid]
    assert e[0]["subjects"] == [subject] and e[0]["why"]["purpose"] == "restriction"
    with _as(w, "platform") as p:
        assert rid not in [v.record.record_id for v in p.list_records(limit=1000)]
        with pytest.raises(AccessDenied):
            p.show_record(rid)  # nobody holds both vault.read and vault.archive
        out = w.root / "public.csv"
        s = p.disclose(out, audience="public")
        assert rid not in out.read_text("utf-8-sig") and s.removed >= 1
        assert not p.vault.get(rid).shareable  # the share and the release skip it
        with pytest.raises(UsageError, match="already restricted"):
            p.restrict(rid, by=subject, reason="again")
        with pytest.raises(UsageError, match="removed"):
            p.open_dispute(rid, reason="数据有误", by="某公司")
    with _as(w, "secadm") as p:
        assert [r.record_id for r in p.restrictions()] == [rid]
    with _as(w, "auditadm") as p:  # export to audit: masked metadata, the cause named
        rows = [r for r in p.archive() if r["record_id"] == rid]
        assert len(rows) == 1 and rows[0]["cause"] == "restricted"
    with _as(w, "sysadm") as p, pytest.raises(AccessDenied):
        p.restrict(rid, by=subject, reason="not mine to do")


def test_a_restriction_cannot_be_lifted_in_the_database(tmp_path: Path, monkeypatch: Any) -> None:
    """The restriction is the record's ``archived_at``, under the row MAC: deleting the
    restrictions row leaves the record out of every view, and clearing ``archived_at`` fails
    every read of it (logged)."""
    w = _world(tmp_path, monkeypatch)
    rid, _ = _restrict_one(w)
    with edit_db(w.vault / "vault.db") as con:
        con.execute("DELETE FROM restrictions WHERE record_id = ?", (rid,))
    with _as(w, "platform") as p:
        assert rid not in [v.record.record_id for v in p.list_records(limit=1000)]
    with edit_db(w.vault / "vault.db") as con:
        con.execute("UPDATE records SET archived_at = NULL WHERE record_id = ?", (rid,))
    with _as(w, "platform") as p, pytest.raises(IntegrityError, match=rid):
        p.list_records(limit=1000)


def test_a_restricted_record_is_destroyed_at_retention(tmp_path: Path, monkeypatch: Any) -> None:
    w = _world(tmp_path, monkeypatch)
    rid, _ = _restrict_one(w)
    with _as(w, "secadm") as p:
        assert rid not in [d.record.record_id for d in p.destroy(expired=True, dry_run=True).due]
    w.clock.advance(days=366 * 12)  # past every retention of the synthetic penalties
    with _as(w, "secadm") as p:
        out = p.destroy(expired=True, output=w.root / "certs")
        assert out.result is not None and rid in out.result.records
        assert p.vault.get(rid).status["destroyed_at"]


def test_vault_restrict_and_restrictions_on_the_command_line(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import json

    w = _world(tmp_path, monkeypatch)
    v = ["--vault", str(w.vault)]
    rec = w.js("plat", "platform", "vault", "list", *v, "--limit", "1")["records"][0]
    rid = rec["record_id"]
    r = w.run("plat", "secadm", "vault", "restrict", rid, *v, "--by", "某区市场监管局",
              "--reason", "申请删除", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["record_id"] == rid
    listed = w.js("plat", "secadm", "vault", "restrictions", *v)["restrictions"]
    assert [x["record_id"] for x in listed] == [rid]
    r = w.run("plat", "auditadm", "vault", "restrict", rid, *v, "--by", "x", "--reason", "y")
    assert r.exit_code == 77  # role refused (and logged)
    ids = [x["record_id"] for x in w.js("plat", "platform", "vault", "list", *v)["records"]]
    assert rid not in ids
