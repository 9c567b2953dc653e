"""No command writes over its input, the audit log, the vault's files or a key file (issue 11).

Before this change ``vault disclose -o <the platform's audit log>`` replaced the log with a
CSV, and ``mask FILE -o FILE``, ``seal FILE -o FILE`` and ``open PKG -o PKG`` replaced their
own input. The guard is one check in the atomic-output layer (:mod:`xinan.fileio`); the files
are protected by the library parts that own them (the audit log, the vault, the keyring, the
record and package readers), never by the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.worlds import World, build_world
from xinan import fileio
from xinan.errors import ProtectedOutputError
from xinan.fileio import protect, protected, write_bytes_atomic

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf) -> World:
    return build_world(tmp_path, monkeypatch, people=4)


def refused(r, what: str) -> None:
    assert r.exit_code != 0, r.output
    assert f"refusing to write over {what}" in r.output, r.output


def test_disclose_never_replaces_the_audit_log_the_vault_or_a_key(world: World) -> None:
    w = world
    log = w.log("plat")
    targets = {
        log: "the audit log",
        Path(f"{log}.checkpoints"): "the audit log",
        w.vault / "vault.db": "the vault's files",
        w.ring("plat") / "private" / "platform.key": "a key file",
        w.ring("plat") / "public" / "platform.pub": "a key file",
    }
    for target, what in targets.items():
        before = target.read_bytes()
        r = w.run(
            "plat", "platform", "vault", "disclose", "--vault", str(w.vault),
            "--audience", "public", "-o", str(target),
        )  # fmt: skip
        refused(r, what)
        assert target.read_bytes()[: len(before)] == before
    # a symbolic link to the log is no way round it
    link = w.root / "innocent.csv"
    os.symlink(log, link)
    refused(
        w.run(
            "plat",
            "platform",
            "vault",
            "disclose",
            "--vault",
            str(w.vault),
            "--audience",
            "public",
            "-o",
            str(link),
        ),
        "the audit log",
    )
    assert w.run("plat", "auditadm", "audit", "verify").exit_code == 0
    # and an ordinary output still works
    ok = w.run(
        "plat", "platform", "vault", "disclose", "--vault", str(w.vault),
        "--audience", "public", "-o", str(w.root / "p.csv"),
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output


def test_mask_and_seal_never_replace_their_input(world: World) -> None:
    w = world
    export = w.root / "prov" / "person.csv"
    before = export.read_bytes()
    r = w.run("prov", "amr", "mask", str(export), "-o", str(export), "--audience", "public")
    refused(r, "the input")
    r = w.run("prov", "amr", "seal", str(export), "-o", str(export), "--to", "platform")
    refused(r, "the input")
    hard = w.root / "prov" / "hard.csv"
    os.link(export, hard)  # another name of the same file
    r = w.run("prov", "amr", "mask", str(export), "-o", str(hard), "--audience", "public")
    refused(r, "the input")
    assert export.read_bytes() == before


def test_open_never_replaces_its_package(world: World) -> None:
    w = world
    assert w.package is not None
    before = w.package.read_bytes()
    copy = w.root / "plat" / "in.xpkg"
    copy.write_bytes(before)
    r = w.run("plat", "platform", "open", str(copy), "-o", str(copy))
    refused(r, "the input")
    assert copy.read_bytes() == before


def test_guard_unit(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_bytes(b"evidence\n")
    release = protect(a, "the audit log")
    with pytest.raises(ProtectedOutputError, match="the audit log"):
        write_bytes_atomic(a, b"csv")
    os.symlink(a, tmp_path / "l")
    with pytest.raises(ProtectedOutputError):
        write_bytes_atomic(tmp_path / "l", b"csv")
    os.link(a, tmp_path / "h")
    with pytest.raises(ProtectedOutputError):
        write_bytes_atomic(tmp_path / "h", b"csv")
    release()
    write_bytes_atomic(a, b"now allowed\n")
    assert a.read_bytes() == b"now allowed\n"
    # while an input is read, and only then
    with protected(a, "the input"), pytest.raises(ProtectedOutputError, match="the input"):
        write_bytes_atomic(a, b"x")
    write_bytes_atomic(a, b"y")
    # a directory's files, by suffix; the owner may still write its own files
    d = tmp_path / "ring"
    d.mkdir()
    release = protect(d, "a key file", owner="keyring", directory=True, suffixes=(".key",))
    with pytest.raises(ProtectedOutputError):
        write_bytes_atomic(d / "k.key", b"x")
    write_bytes_atomic(d / "k.key", b"x", owner="keyring")
    write_bytes_atomic(d / "notes.txt", b"x")
    release()
    assert not [p for p in tmp_path.rglob(".*.tmp")]
    assert fileio.STDIO == "-"


RAISE = (
    "import resource\n"
    "hard = resource.getrlimit(resource.RLIMIT_CORE)[1]\n"
    "if hard == 0:\n"
    "    print('skip'); raise SystemExit(0)\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n"
)


def test_core_dumps_are_off_in_the_cli_and_after_unlocking(tmp_path: Path) -> None:
    code = (
        RAISE + "import sys\n"
        "from xinan.cli._app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.split("\n")
    if out[0] == "skip":
        pytest.skip("this environment allows no core files at all")
    assert out[-2] == "0", out
    code = (
        RAISE + "import sys\n"
        "from datetime import UTC, datetime\n"
        "from xinan.keys import KdfParams, Keyring\n"
        "ring = Keyring(sys.argv[1])\n"
        "ring.generate('k', 'platform', 'intl', 'a long enough passphrase',"
        " now=datetime.now(UTC), kdf_params=KdfParams(1024, 1, 1))\n"
        "print(resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
        "ring.unlock('k', 'a long enough passphrase')\n"
        "print(resource.getrlimit(resource.RLIMIT_CORE)[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "keys")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.split("\n")
    assert out[0] != "0" and out[1] == "0", out
