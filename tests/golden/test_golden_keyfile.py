"""Golden files of the key file format (docs/keys.md, xinan-key/1): a committed test-only
keyring (intl pair, gm pair, pseudonym secret key) written once by
tests/golden/make_keyfile.py. Key files embed random salts and nonces, so these goldens are
reader-side only: today's reader must list and unlock the committed files with the pinned key
ids, and refuse every committed mutation with the xinan error in the table below — never
another exception."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.golden.make_keyfile import PW
from xinan.errors import KeyringError, WrongPassphrase, XinanError
from xinan.keys import Keyring, read_public_file

GOLDEN = Path(__file__).resolve().parent / "keyfile"
IDS = {
    "pub": "provider-intl",
    "key": "provider-intl",
    "gmpub": "provider-gm",
    "gmkey": "provider-gm",
    "secret": "pseudonym-key",
}

# file in bad/ -> the xinan error its reader raises. Header changes of a pair's file break the
# key id (KeyringError); a secret file has no public keys, so its header is bound by the AEAD
# (docs/keys.md §4) and a changed header reads as a failed unlock (WrongPassphrase).
_COMMON = {
    "compact": KeyringError,
    "created_changed": KeyringError,
    "id_changed": KeyringError,
    "key_id_changed": KeyringError,
    "member_added": KeyringError,
    "role_changed": KeyringError,
    "truncated": KeyringError,
    "wrong_version": KeyringError,
}
_PAIR = {**_COMMON, "sig_changed": KeyringError}
_SEALED = {"nonce_flipped": WrongPassphrase, "salt_flipped": WrongPassphrase}
_SECRET_HEADER = {
    "created_changed": WrongPassphrase,
    "id_changed": WrongPassphrase,
    "key_id_changed": WrongPassphrase,
}
KEYFILE_REFUSALS: dict[str, type[XinanError]] = {
    **{f"pub.{m}": e for m, e in _PAIR.items()},
    **{f"gmpub.{m}": e for m, e in _PAIR.items()},
    **{f"key.{m}": e for m, e in {**_PAIR, **_SEALED, "sealed_flipped": WrongPassphrase}.items()},
    **{f"gmkey.{m}": e for m, e in {**_PAIR, **_SEALED, "sealed_flipped": WrongPassphrase}.items()},
    **{
        f"secret.{m}": e
        for m, e in {
            **_COMMON,
            **_SEALED,
            "sealed_flipped": WrongPassphrase,
            **_SECRET_HEADER,
        }.items()
    },
}


def test_keyfile_golden_read() -> None:
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    ring = Keyring(GOLDEN / "keys", compliance_mode="any")
    got = {
        e.id: {"key_id": e.key_id, "kind": e.kind, "role": e.role, "suite": e.suite}
        for e in ring.list()
    }
    assert got == expected
    for name in ("provider-intl", "provider-gm"):
        ident = ring.unlock(name, PW)
        assert ident.key_id == expected[name]["key_id"]
        pub = read_public_file(ring.public_path(name))
        assert pub.key_id == expected[name]["key_id"]
        msg = b"golden key file"
        ident.suite.verify(pub.sig, msg, ident.sign(msg))  # the pair belongs together
    assert ring.secret("pseudonym-key", PW).key_id == expected["pseudonym-key"]["key_id"]


def test_keyfile_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(KEYFILE_REFUSALS)


@pytest.mark.parametrize("name", sorted(KEYFILE_REFUSALS))
def test_keyfile_mutation_refused(tmp_path: Path, name: str) -> None:
    kind = name.split(".", maxsplit=1)[0]
    src = GOLDEN / "bad" / name
    with pytest.raises(XinanError) as info:
        if kind.endswith("pub"):
            read_public_file(src)
        else:
            (tmp_path / "private").mkdir()
            shutil.copy(src, tmp_path / "private" / f"{IDS[kind]}.key")
            ring = Keyring(tmp_path, compliance_mode="any")
            if kind == "secret":
                ring.secret(IDS[kind], PW)
            else:
                ring.unlock(IDS[kind], PW)
    assert type(info.value) is KEYFILE_REFUSALS[name], info.value
