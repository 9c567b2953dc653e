"""A three-party world for the vault, share and flow tests (no tests of its own).

provider (keyring ``prov``), platform with its administrators (``plat``) and a bank (``bank``)
each have their own keyring, audit log and trust store; public keys travel by ``keys add``.
The clock is injected: ``World.clock`` is what ``xinan.cli._common.utc_now`` returns.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from xinan.cli import _common, app

PASS = "correct horse battery staple"
T0 = datetime(2026, 11, 25, 1, 0, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: Any) -> None:
        self.now = self.now + timedelta(**kw)


@dataclass
class World:
    root: Path
    runner: CliRunner
    clock: Clock
    people: list[dict[str, str]] = field(default_factory=list)
    package: Path | None = None

    # -- running commands --------------------------------------------------------------------
    def ring(self, party: str) -> Path:
        return self.root / party / "keys"

    def run(self, party: str, actor: str | None, *args: str) -> Result:
        argv = ["--keyring", str(self.ring(party))]
        if actor:
            argv += ["--as", actor]
        return self.runner.invoke(app, [*argv, *args], catch_exceptions=False)

    def ok(self, party: str, actor: str | None, *args: str) -> Result:
        r = self.run(party, actor, *args)
        assert r.exit_code == 0, (args, r.output)
        return r

    def js(self, party: str, actor: str | None, *args: str) -> Any:
        return json.loads(self.ok(party, actor, *args, "--json").stdout)

    def log(self, party: str) -> Path:
        return self.root / party / "audit" / "audit.log"

    def entries(self, party: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.log(party).read_text("utf-8").splitlines() if x]

    @property
    def vault(self) -> Path:
        return self.root / "plat" / "vault"

    # -- the platform's steps ------------------------------------------------------------------
    def person(self, i: int = 0) -> dict[str, str]:
        return self.people[i]

    def consent(
        self,
        subject: str,
        *,
        fields: str = "手机号码,现住址",
        until: str = "2026-12-31",
        purpose: str = "信易贷授信审查",
        querent: str = "bank",
    ) -> str:
        data = self.js(
            "plat", "platform", "consent", "add", "--vault", str(self.vault),
            "--subject", subject, "--querent", querent, "--purpose", purpose,
            "--fields", fields, "--valid-until", until, "--ref", "paper:2026-0042",
        )  # fmt: skip
        return str(data["id"])

    def grant(
        self,
        subject: str,
        consent: str,
        *,
        fields: str = "手机号码,现住址",
        ttl: str = "1h",
        purpose: str = "信易贷授信审查",
        out: str = "bank.grant",
        querent: str = "bank",
    ) -> Result:
        return self.run(
            "plat", "secadm", "grant", "issue", "--vault", str(self.vault),
            "--querent", querent, "--purpose", purpose, "--fields", fields,
            "--subject", subject, "--consent", consent, "--ttl", ttl,
            "-o", str(self.root / out),
        )  # fmt: skip

    def share(self, grant: str = "bank.grant", out: str = "bank.xpkg") -> Result:
        return self.run(
            "plat", "platform", "share", "--vault", str(self.vault),
            "--grant", str(self.root / grant), "-o", str(self.root / out),
        )  # fmt: skip

    def release(
        self, pkg: str = "bank.xpkg", out: str | None = None, *, actor: str = "platform"
    ) -> Result:
        """`xinan release` of a share (docs/package.md §6.4), to ``<pkg stem>.release``."""
        out = out or release_name(pkg)
        return self.run(
            "plat", actor, "release", "--vault", str(self.vault),
            "--package", str(self.root / pkg), "-o", str(self.root / out),
        )  # fmt: skip

    def open(
        self,
        pkg: str = "bank.xpkg",
        grant: str = "bank.grant",
        out: str = "bank.csv",
        *extra: str,
        actor: str = "bank",
        release: str | None = "auto",
    ) -> Result:
        """``release``: "auto" passes ``<pkg stem>.release`` when the platform made it (see
        :meth:`release`), None passes no release file, any other name that file."""
        if release == "auto":
            auto = release_name(pkg)
            release = auto if (self.root / auto).exists() else None
        rel = ["--release", str(self.root / release)] if release is not None else []
        return self.run(
            "bank", actor, "open", str(self.root / pkg), "--key", actor,
            "--grant", str(self.root / grant), "-o", str(self.root / out), *rel, *extra,
        )  # fmt: skip

    def opened(self, out: str = "bank.csv") -> list[dict[str, str]]:
        with (self.root / out).open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))


def release_name(pkg: str) -> str:
    return str(Path(pkg).with_suffix(".release"))


# Worlds built once per session and restored before each test that asks for the same one
# (kind, people): building one runs ~20 commands (keys, logs, seal, vault, ingest), restoring
# is a directory copy. A world lives at one fixed path, because the vault binds its audit log
# by absolute path: the pristine copy is put back where it was built.
_PRISTINE: dict[tuple[str, int, str], tuple[Path, Path, list[dict[str, str]]]] = {}


_SESSION_DIR: dict[int, Path] = {}  # per process (an xdist worker), made on first use


def _session_dir() -> Path:
    # a new directory per process, never one named by the pid: a process that ended without
    # its atexit (killed, os._exit) left its worlds behind, and a later process given the same
    # pid built into them and failed ("this keyring is bootstrapped")
    pid = os.getpid()
    if pid not in _SESSION_DIR:
        base = Path(tempfile.mkdtemp(prefix=f"xinan-worlds-{pid}-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        _SESSION_DIR[pid] = base
    return _SESSION_DIR[pid]


def build_world(
    root: Path,
    monkeypatch: Any,
    *,
    people: int = 30,
    kind: str = "person",
    prepare: Callable[[list[dict[str, str]]], None] | None = None,
    suite: str = "intl",
) -> World:
    """Keys for every party, audit logs, a provider's export sealed to the platform, a vault
    with that package ingested. ``fast_kdf`` must be active. ``prepare`` may edit the
    synthetic rows (in place) before they are sealed (such a world is built afresh in
    ``root``); any other world is a fresh copy of one built once per session. ``suite``: every
    key's crypto suite."""
    if prepare is not None:
        return _build_world(
            root, monkeypatch, people=people, kind=kind, prepare=prepare, suite=suite
        )
    key = (kind, people, suite)
    if key not in _PRISTINE:
        where = _session_dir() / f"{kind}-{people}-{suite}"
        _build_world(where, monkeypatch, people=people, kind=kind, prepare=None, suite=suite)
        monkeypatch.chdir(root)
        pristine = _session_dir() / f"{kind}-{people}-{suite}.pristine"
        shutil.copytree(where, pristine, symlinks=True)
        _PRISTINE[key] = (where, pristine, [])
    where, pristine, _ = _PRISTINE[key]
    shutil.rmtree(where)
    shutil.copytree(pristine, where, symlinks=True)
    w = _world_at(where, monkeypatch)
    with (where / "prov" / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as f:
        w.people = list(csv.DictReader(f))
    w.package = where / "prov" / f"{kind}.xpkg"
    return w


def _world_at(root: Path, monkeypatch: Any) -> World:
    clock = Clock()
    monkeypatch.setattr(_common, "utc_now", clock)
    monkeypatch.setenv("XINAN_PASSPHRASE", PASS)
    monkeypatch.setenv("XINAN_TODAY", "2026-11-25")
    monkeypatch.setenv("XINAN_TOKEN_DIR", str(root / "tokens"))
    for var in ("XINAN_IDENTITY", "XINAN_AUDIT_LOG", "XINAN_VAULT", "XINAN_KEYRING", "XINAN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(root)
    return World(root, CliRunner(), clock)


def _build_world(
    root: Path,
    monkeypatch: Any,
    *,
    people: int,
    kind: str,
    prepare: Callable[[list[dict[str, str]]], None] | None,
    suite: str,
) -> World:
    root.mkdir(parents=True, exist_ok=True)
    w = _world_at(root, monkeypatch)
    keys = {
        "prov": [("amr", "provider"), ("provsa", "sys-admin")],
        "plat": [
            ("platform", "platform"),
            ("sysadm", "sys-admin"),
            ("secadm", "sec-admin"),
            ("auditadm", "audit-admin"),
            ("subject-ps", "pseudonym"),
        ],
        "bank": [("bank", "querent"), ("bank2", "querent"), ("banksa", "sys-admin")],
    }
    for party, ids in keys.items():
        for name, role in ids:
            w.ok(party, None, "keygen", "--id", name, "--role", role, "--suite", suite)

    def give(src: str, name: str, dst: str) -> None:
        w.ok(dst, None, "keys", "add", str(w.ring(src) / "public" / f"{name}.pub"))

    give("plat", "platform", "prov")
    give("plat", "platform", "bank")
    give("prov", "amr", "plat")
    give("bank", "bank", "plat")
    give("bank", "bank2", "plat")
    # bootstrap order: keys, trust stores, then each party's log (bound to its key); from here
    # on key management acts as a sys-admin
    w.ok("prov", None, "audit", "init", "--key", "amr")
    w.ok("plat", None, "audit", "init")
    w.ok("bank", None, "audit", "init", "--key", "bank")
    # the explicit, logged bootstrap of each keyring's roster by its first sys-admin; the
    # administrators' tokens go to one directory the environment names (no prompt)
    for party, admin in (("prov", "provsa"), ("plat", "sysadm"), ("bank", "banksa")):
        w.ok(party, admin, "keys", "bootstrap")

    export = root / "prov" / f"{kind}.csv"
    w.ok("prov", "amr", "fake", kind, "-n", str(people), "-o", str(export), "--seed", "11")
    with export.open(encoding="utf-8-sig", newline="") as f:
        w.people = list(csv.DictReader(f))
    if prepare is not None:
        prepare(w.people)
        with export.open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.DictWriter(f, fieldnames=list(w.people[0]))
            out.writeheader()
            out.writerows(w.people)
    w.package = root / "prov" / f"{kind}.xpkg"
    w.ok("prov", "amr", "seal", str(export), "-o", str(w.package), "--to", "platform")
    w.ok(
        "plat", "sysadm", "vault", "init", "--vault", str(w.vault),
        "--platform", "platform", "--pseudonym-key", "subject-ps",
    )  # fmt: skip
    w.ok("plat", "platform", "vault", "ingest", str(w.package), "--vault", str(w.vault))
    return w


@contextlib.contextmanager
def unlocked_vault(w: World) -> Iterator[Any]:
    """The world's vault opened and unlocked with the platform key, for tests that read records
    through the library: every read checks the row MAC (docs/vault.md §3.1), which needs the
    vault key."""
    from xinan.keys import Keyring
    from xinan.platform.vault import Vault

    with Vault.open(w.vault) as v:
        v.unlock(Keyring(w.ring("plat")).unlock("platform", PASS))
        yield v
