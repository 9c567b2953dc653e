"""Impact assessments (个人信息保护影响评估; CONTROLS.md 29; PIPL art. 55–56; docs/lifecycle.md §9):
kept three years, the purge refuses younger ones, and a consent for consent-gated sensitive
fields needs a PIA covering it or a legal basis."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.worlds import PASS, World, build_world
from xinan.authn import TokenDir
from xinan.errors import AccessDenied
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext
from xinan.platform.pia import keep_until

pytestmark = pytest.mark.usefixtures("fast_kdf")
PURPOSE = "信易贷授信审查"


def _world(tmp_path: Path, monkeypatch: Any) -> World:
    return build_world(tmp_path, monkeypatch, people=6)


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


def _consent(p: Platform, w: World, fields: list[str], **kw: Any) -> Any:
    return p.add_consent(
        subject=w.person(0)["证件号码"],
        querent="bank",
        purpose=PURPOSE,
        fields=fields,
        valid_until=p.today() + timedelta(days=30),
        ref="paper:2026-0042",
        **kw,
    )


def test_a_consent_for_a_consent_gated_field_needs_a_pia_or_a_basis(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "secadm") as p:
        with pytest.raises(AccessDenied, match="PIA") as e:
            _consent(p, w, ["个人年收入"])
        assert e.value.rule == "pia:required"
        other = p.add_pia(purpose="其他用途", fields=["个人年收入"], ref="PIA-2026-01",
                          conclusion="风险可控")  # fmt: skip
        with pytest.raises(AccessDenied) as e:
            _consent(p, w, ["个人年收入"], pia=other.id)
        assert e.value.rule == "pia:scope"
        narrow = p.add_pia(purpose=PURPOSE, fields=["手机号码"], ref="PIA-2026-02",
                           conclusion="风险可控")  # fmt: skip
        with pytest.raises(AccessDenied):
            _consent(p, w, ["个人年收入"], pia=narrow.id)
        pia = p.add_pia(purpose=PURPOSE, fields=["个人年收入", "手机号码"], ref="PIA-2026-03",
                        conclusion="风险可控，已采取加密与最小化措施")  # fmt: skip
        assert pia.keep_until == keep_until(p.today())
        c = _consent(p, w, ["个人年收入"], pia=pia.id)
        assert p.consent_basis(c.id) == (pia.id, None)
        c2 = _consent(p, w, ["个人年收入"], basis="征信业管理条例第十四条第二款 书面同意")
        assert p.consent_basis(c2.id)[1]
        _consent(p, w, ["手机号码"])  # not consent-gated: as before
    e = [x for x in w.entries("plat") if x["type"] == "policy.pia-add"]
    assert len(e) == 3 and e[-1]["objects"]["ref"] == f"pia:{pia.id}"


def test_the_purge_keeps_three_years_and_refuses_younger_ones(
    tmp_path: Path, monkeypatch: Any
) -> None:
    w = _world(tmp_path, monkeypatch)
    with _as(w, "secadm") as p:
        today = p.today()
        young = p.add_pia(purpose=PURPOSE, fields=["个人年收入"], ref="PIA-Y", conclusion="可控")
        old = p.add_pia(purpose=PURPOSE, fields=["个人年收入"], ref="PIA-O", conclusion="可控",
                        assessed_on=date(today.year - 4, 1, 10))  # fmt: skip
        backing = p.add_pia(purpose=PURPOSE, fields=["个人年收入"], ref="PIA-B",
                            conclusion="可控", assessed_on=date(today.year - 4, 2, 10))  # fmt: skip
        _consent(p, w, ["个人年收入"], pia=backing.id)
        with pytest.raises(AccessDenied, match="kept until") as e:
            p.purge_pias(ids=[young.id])
        assert e.value.rule == "pia:retention"
        with pytest.raises(AccessDenied, match="consent still in force"):
            p.purge_pias(ids=[backing.id])
        assert {x.id for x in p.pias()} == {young.id, old.id, backing.id}  # nothing deleted
        assert p.purge_pias(ids=[]) == [old.id]  # every one due, and only those
        assert {x.id for x in p.pias()} == {young.id, backing.id}
    types = [
        (x["type"], x["outcome"]) for x in w.entries("plat") if x["type"] == "policy.pia-purge"
    ]
    assert types == [
        ("policy.pia-purge", "denied"),
        ("policy.pia-purge", "denied"),
        ("policy.pia-purge", "success"),
    ]
    w.clock.advance(days=366 * 3 + 2)  # the young one's three years are over; the consent ended
    with _as(w, "secadm") as p:
        assert sorted(p.purge_pias(ids=[])) == sorted([young.id, backing.id])
    with _as(w, "auditadm") as p, pytest.raises(AccessDenied):
        p.pias()


def test_keep_until_is_three_years() -> None:
    assert keep_until(date(2026, 3, 1)) == date(2029, 3, 1)
    assert keep_until(date(2028, 2, 29)) == date(2031, 2, 28)


def test_pia_commands(tmp_path: Path, monkeypatch: Any) -> None:
    import json

    w = _world(tmp_path, monkeypatch)
    v = ["--vault", str(w.vault)]
    out = w.js("plat", "secadm", "pia", "add", *v, "--purpose", PURPOSE, "--fields", "个人年收入",
               "--ref", "PIA-2026-07", "--conclusion", "风险可控")  # fmt: skip
    assert out["keep_until"] and out["fields"] == ["个人年收入"]
    assert [x["id"] for x in w.js("plat", "secadm", "pia", "list", *v)["pias"]] == [out["id"]]
    r = w.run("plat", "secadm", "pia", "purge", *v, "--id", out["id"])
    assert r.exit_code == 77
    r = w.run("plat", "platform", "consent", "add", *v, "--subject", w.person(0)["证件号码"],
              "--querent", "bank", "--purpose", PURPOSE, "--fields", "个人年收入",
              "--valid-until", "2026-12-31", "--ref", "SQ-1")  # fmt: skip
    assert r.exit_code == 77 and "PIA" in r.output
    r = w.run("plat", "platform", "consent", "add", *v, "--subject", w.person(0)["证件号码"],
              "--querent", "bank", "--purpose", PURPOSE, "--fields", "个人年收入", "--json",
              "--valid-until", "2026-12-31", "--ref", "SQ-1", "--pia", out["id"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pia"] == out["id"]
