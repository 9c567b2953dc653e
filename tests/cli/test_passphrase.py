"""The command line's passphrase source (xinan/cli/_passphrase.py, docs/config.md §3)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from xinan.cli._passphrase import Passphrases, env_name, key_of, read_passin
from xinan.errors import KeyringError, UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_every_library_prompt_names_its_key() -> None:
    """Each `passphrase(f"…")` prompt in the library is recognised, so its answer is cached
    per key (a new prompt shape would silently be asked again)."""
    shapes = set()
    for path in (ROOT / "xinan").rglob("*.py"):
        for m in re.finditer(r'passphrase\(f"([^"]*)"\)', path.read_text("utf-8")):
            shapes.add(m.group(1))
    assert shapes, "no prompts found: the scan is broken"
    for shape in shapes:
        sample = re.sub(r"\{[^}]*\}", "sec-admin", shape, count=1)
        sample = re.sub(r"\{[^}]*\}", "sys-admin", sample)
        if sample.endswith("(new)"):
            assert key_of(sample) is None, shape  # a new passphrase is never cached
        else:
            assert key_of(sample) == "sec-admin", shape


def test_key_of() -> None:
    assert key_of("platform (platform)") == "platform"
    assert key_of("audit log key amr-zaozhuang") == "amr-zaozhuang"
    assert key_of("pseudonym key subject-ps") == "subject-ps"
    assert key_of("new key bank-a") == "bank-a"
    assert key_of("bank-a (new)") is None
    assert key_of("something else") is None
    assert env_name("sec-admin") == "XINAN_PASSPHRASE_SEC_ADMIN"
    assert env_name("amr.zaozhuang-2") == "XINAN_PASSPHRASE_AMR_ZAOZHUANG_2"


@pytest.fixture()
def no_env(monkeypatch):
    for var in list(os.environ):
        if var.startswith("XINAN_"):
            monkeypatch.delenv(var)


def test_each_key_is_asked_once_and_per_key_variables_come_first(no_env, monkeypatch) -> None:
    monkeypatch.setenv("XINAN_PASSPHRASE", "generic one")
    monkeypatch.setenv("XINAN_PASSPHRASE_PLATFORM", "platform one")
    src = Passphrases()
    assert src("platform (platform)") == "platform one"
    assert src("sec-admin (sec-admin)") == "generic one"
    # a later change of the sources is not seen: the key was answered in this process
    monkeypatch.setenv("XINAN_PASSPHRASE_PLATFORM", "changed")
    assert src("audit log key platform") == "platform one"
    assert "platform one" not in repr(src)
    # a wrong scripted passphrase is forgotten, but never retried (fail closed)
    assert src.retry_after_wrong() is False
    assert src("platform (platform)") == "changed"


def test_passin_sources(no_env, monkeypatch, tmp_path: Path) -> None:
    f = tmp_path / "pw"
    f.write_text("from a file\nsecond line ignored\n", encoding="utf-8")
    assert read_passin(f"file:{f}") == "from a file"
    monkeypatch.setenv("PW_VAR", "from a variable")
    assert read_passin("env:PW_VAR") == "from a variable"
    r, w = os.pipe()
    os.write(w, b"from a descriptor\n")
    os.close(w)
    try:
        src = Passphrases(passin=f"fd:{r}")
        assert src("platform (platform)") == "from a descriptor"
        assert src("sec-admin (sec-admin)") == "from a descriptor"  # read once, kept
    finally:
        os.close(r)
    monkeypatch.setenv("XINAN_PASSPHRASE", "generic")
    assert Passphrases(passin=f"file:{f}")("bank-a (querent)") == "from a file"
    for bad in ("pass:secret", "file", "disk:/x", f"file:{tmp_path / 'missing'}", "fd:x",
                "env:UNSET_VAR_XINAN"):  # fmt: skip
        with pytest.raises(UsageError):
            read_passin(bad)
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(UsageError):
        read_passin(f"file:{empty}")


def test_no_terminal_no_prompt(no_env) -> None:
    with pytest.raises(KeyringError) as e:
        Passphrases()("platform (platform)")
    assert "XINAN_PASSPHRASE" in (e.value.hint or "")


def test_new_passphrase_is_remembered_for_the_first_unlock(no_env, monkeypatch) -> None:
    monkeypatch.setenv("XINAN_NEW_PASSPHRASE", "brand new one")
    src = Passphrases()
    assert src.new("new key bank-a") == "brand new one"
    monkeypatch.delenv("XINAN_NEW_PASSPHRASE")
    assert src("bank-a (querent)") == "brand new one"
