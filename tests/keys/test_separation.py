"""三权分立 in the keys themselves (issue 12 item 1; GB/T 22239-2019 8.1.4.2 d, 8.1.5).

The platform's audit log has its own signer, held by the logging service (docs/audit-log.md
§12); the vault's key is wrapped to the platform key only. So each administrator works with
its own key and token, and none of them — with everything it holds: its key file, its
passphrase, its token — can decrypt a stored value or sign a checkpoint. Every attempt below
is a real one through the library, and must fail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.worlds import PASS, T0, build_world
from xinan._codec import b64decode, loads_strict
from xinan.access import authenticate_reader, load_audit_config, log_verifiers
from xinan.audit.checkpoint import Checkpoint, sign_checkpoint
from xinan.audit.config import service_paths
from xinan.audit.log import AuditLog
from xinan.audit.note import open_note
from xinan.audit.signers import IdentityNoteSigner, ServiceNoteSigner, load_service_signer
from xinan.authn import Token, TokenDir
from xinan.crypto import get_suite
from xinan.errors import (
    AuditError,
    IntegrityError,
    KeyringError,
    NoteError,
    WrongPassphrase,
    XinanError,
)
from xinan.key_management import change_passphrase
from xinan.keys import Keyring
from xinan.platform import Platform, PlatformContext
from xinan.platform.vault import Vault
from xinan.platform.vault_config import INFO_KEK, _kek_aad

PLATFORM_PASS = "the platform operator's own long passphrase 7"
ADMINS = ("sysadm", "secadm", "auditadm")


@pytest.fixture()
def world(tmp_path, monkeypatch, fast_kdf):
    w = build_world(tmp_path, monkeypatch, people=6)
    # the platform operator's passphrase is its own (keys passwd, logged as key.passphrase)
    change_passphrase(
        Keyring(w.ring("plat")),
        identity="platform",
        old=lambda _what: PASS,
        new=PLATFORM_PASS,
        clock=w.clock,
        tokens=TokenDir(w.root / "tokens"),
    )
    return w


class OnlyOwn:
    """A passphrase source that knows one key's passphrase and records every other request:
    an administrator asked for the platform key's (or the log key's) passphrase would show up
    in ``asked``."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.asked: list[str] = []

    def __call__(self, what: str) -> str:
        if what.startswith(self.who):
            return PASS
        self.asked.append(what)
        return PASS  # the administrator's own passphrase is all it can give


def platform_as(w, who: str, passphrase: Callable[[str], str]) -> Platform:
    return Platform.open(
        PlatformContext(
            vault=w.vault,
            keyring=Keyring(w.ring("plat")),
            identity=who,
            passphrase=passphrase,
            clock=w.clock,
            tokens=TokenDir(w.root / "tokens"),
        )
    )


def test_administrators_work_with_their_own_key_only(world) -> None:
    """Item 2: audit show (audit-admin) and the system administrator's vault operations ask
    for no passphrase but the actor's own: the log has its own signer (reading stored records
    needs none either: test_administrators_read_records_without_the_platform_key)."""
    w = world
    ring = Keyring(w.ring("plat"))
    src = OnlyOwn("auditadm")
    actor = authenticate_reader(
        keyring=ring,
        identity="auditadm",
        passphrase=src,
        operation="audit.read",
        clock=w.clock,
        tokens=TokenDir(w.root / "tokens"),
        what="audit.log",
    )
    assert actor.id == "auditadm" and src.asked == []
    for who in ADMINS:
        src = OnlyOwn(who)
        with platform_as(w, who, src) as p:
            p.describe()
        assert src.asked == [], who


def _holdings(w, who: str) -> tuple[bytes, str, bytes]:
    ring = Keyring(w.ring("plat"))
    return (
        ring.private_path(who).read_bytes(),
        PASS,
        (w.root / "tokens" / f"{who}.token").read_bytes(),
    )


@pytest.mark.parametrize("who", ADMINS)
def test_no_administrator_can_decrypt_a_stored_value(world, who: str) -> None:
    w = world
    ring = Keyring(w.ring("plat"))
    key_file, passphrase, token_file = _holdings(w, who)
    own = ring.unlock(who, passphrase)
    vault = Vault.open(w.vault)
    try:
        # 1. the vault refuses to be unlocked by the administrator's key
        with pytest.raises(KeyringError):
            vault.unlock(own)
        # 2. past that check: its key cannot unwrap the vault's key-encryption key
        cfg = vault.config
        with pytest.raises(IntegrityError):
            own.unwrap(cfg.kek_wrapped, INFO_KEK, _kek_aad(cfg.vid, cfg.platform_key_id))
        # 3. none of its secrets opens the platform key that can
        for guess in (passphrase, token_file.decode(), key_file.decode()):
            with pytest.raises(WrongPassphrase):
                ring.unlock("platform", guess)
    finally:
        vault.close()
    # 4. through the platform's own operation: opening a record's sealed values unwraps the
    # vault key, and with the administrator's secrets that fails (refused, or wrong key)
    record_id = _first_record_id(w)
    with platform_as(w, who, lambda _what: passphrase) as p:
        with pytest.raises(XinanError):
            p.show_record(record_id)
        assert not p.vault.is_unlocked


def _first_record_id(w) -> str:
    vault = Vault.open(w.vault)
    try:
        vault.unlock_rows()  # §3.2: the service-held row key; the KEK stays locked
        return next(vault.records(limit=1)).record_id
    finally:
        vault.close()


class NoPlatformPassphrase:
    """The administrator's own passphrase only: asking for any other (the platform key's, the
    pseudonym key's) fails the test at once."""

    def __init__(self, who: str) -> None:
        self.who = who

    def __call__(self, what: str) -> str:
        assert what.startswith(self.who), f"asked for {what!r}"
        return PASS


def test_administrators_read_records_without_the_platform_key(world) -> None:
    """Control 5 (docs/vault.md §3.2): the security administrator lists stored records, opens
    and resolves an objection and previews a destruction, and the audit administrator lists
    the archive, each with its own key and token only: the row MACs are checked with the row
    key the platform service holds, the vault's key is never unwrapped, and a sealed value
    stays sealed."""
    from xinan.platform.records_ops import SEALED_MARK

    w = world
    with platform_as(w, "secadm", NoPlatformPassphrase("secadm")) as p:
        rows = p.list_records(limit=5)
        assert len(rows) == 5
        sealed = [f for r in rows for f in r.record.sealed_fields]
        assert sealed and all(r.fields.get(f, SEALED_MARK) == SEALED_MARK for r in rows
                              for f in r.record.sealed_fields)  # fmt: skip
        d = p.open_dispute(rows[0].record.record_id, reason="数据有误", by="某公司")
        p.resolve_dispute(d.id, outcome="upheld")
        preview = p.destroy(expired=True, dry_run=True)
        assert preview.result is None
        assert not p.vault.is_unlocked
        # and it still cannot open a sealed value: that needs the platform key
        with pytest.raises(AssertionError, match="platform"):
            p.show_record(rows[0].record.record_id)
        assert not p.vault.is_unlocked
    with platform_as(w, "auditadm", NoPlatformPassphrase("auditadm")) as p:
        p.archive()
        assert not p.vault.is_unlocked
    types = [e["type"] for e in w.entries("plat")]
    assert "open" in types and "key.auth" not in types[-3:]


def test_the_row_key_does_not_open_without_the_service_secret(world) -> None:
    """The sealed row key opens with the bound log's service secret only; a wrong secret or an
    edited vault.json fails closed (docs/vault.md §3.2)."""
    import json

    from xinan.platform.vault_config import VaultConfig, log_service_secret, open_row_key

    w = world
    cfg = VaultConfig.read(w.vault)
    secret = log_service_secret(cfg.audit_path)
    assert len(open_row_key(cfg, secret)) == get_suite(cfg.suite).digest_len
    bad = bytes([secret[0] ^ 1]) + secret[1:]
    with pytest.raises(IntegrityError, match="does not open"):
        open_row_key(cfg, bad)
    doc = json.loads((w.vault / "vault.json").read_text("utf-8"))
    doc["pseudonym"]["id"] = "another-ps"
    (w.vault / "vault.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    with pytest.raises(IntegrityError, match="configuration was altered"):
        open_row_key(VaultConfig.read(w.vault), secret)


@pytest.mark.parametrize("who", ADMINS)
def test_no_administrator_can_sign_a_checkpoint(world, who: str) -> None:
    w = world
    ring = Keyring(w.ring("plat"))
    log = w.log("plat")
    cfg = load_audit_config(log)
    assert cfg.is_service
    verifiers = log_verifiers(log, ring)
    key_file, passphrase, token_file = _holdings(w, who)
    own = ring.unlock(who, passphrase)
    cp = Checkpoint.for_hash(cfg.origin, 10**6, b"\x00" * 32, cfg.hash)
    # 1. a checkpoint signed with its key does not open with the log's key
    forged = sign_checkpoint(cp, [IdentityNoteSigner(cfg.origin, own)]).to_bytes()
    with pytest.raises(NoteError):
        open_note(forged, verifiers)
    # 2. nor one signed with its token's key
    doc = loads_strict(token_file)
    token = Token.load(w.root / "tokens" / f"{who}.token")
    s = get_suite(token.suite)
    tkey = s.import_private("sign", b64decode(doc["private"]))
    raw = ServiceNoteSigner(cfg.origin, s, tkey, "xl1token")
    with pytest.raises(NoteError):
        open_note(sign_checkpoint(cp, [raw]).to_bytes(), verifiers)
    # 3. the log writer refuses to extend the log with the administrator's key
    with pytest.raises((AuditError, IntegrityError)):
        AuditLog.open(
            log,
            hash=cfg.hash,
            signer=IdentityNoteSigner(cfg.origin, own),
            origin=cfg.origin,
            clock=lambda: T0,
        )
    # 4. none of its secrets unwraps the log signer (the service secret does)
    signer_file, secret_file = service_paths(log, cfg)
    for guess in (
        passphrase.encode().ljust(32, b"\0")[:32],
        s.digest(token_file),
        s.digest(key_file),
    ):
        with pytest.raises(IntegrityError):
            load_service_signer(signer_file, guess, expect_key_id=cfg.log_key_id)
    # the service's own secret does open it (so the failures above are not a broken file)
    from xinan.audit.signers import read_service_secret

    good = load_service_signer(
        signer_file, read_service_secret(secret_file), expect_key_id=cfg.log_key_id
    )
    open_note(sign_checkpoint(cp, [good]).to_bytes(), verifiers)


def test_the_service_secret_must_be_private(world) -> None:
    """A service secret others can read is refused (like ssh refuses an open private key)."""
    from xinan.audit.signers import read_service_secret

    w = world
    log = w.log("plat")
    _signer, secret_file = service_paths(log, load_audit_config(log))
    secret_file.chmod(0o640)
    with pytest.raises(AuditError, match="readable by others"):
        read_service_secret(secret_file)
    secret_file.chmod(0o600)
    assert len(read_service_secret(secret_file)) == 32


def test_vault_init_refuses_a_log_signed_by_an_identity(tmp_path: Path, fast_kdf) -> None:
    from tests.conftest import bootstrap_keyring
    from xinan.access import init_audit_log
    from xinan.errors import UsageError
    from xinan.platform.service import create_vault

    ring = Keyring(tmp_path / "keys")
    ring.generate("platform", "platform", "intl", PASS, now=T0)
    ring.generate_secret("subject-ps", "intl", PASS, now=T0)
    log = tmp_path / "audit" / "audit.log"
    init_audit_log(log, keyring=ring, log_key="platform")
    tokens = bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=PASS, now=T0)
    with pytest.raises(UsageError, match="needs a log with its own signer"):
        create_vault(
            tmp_path / "vault",
            keyring=ring,
            identity="sa",
            passphrase=lambda _: PASS,
            audit_log=log,
            platform="platform",
            pseudonym_key="subject-ps",
            clock=lambda: T0,
            tokens=tokens,
        )


def test_an_administrators_key_never_signs_a_log(tmp_path: Path, fast_kdf) -> None:
    from xinan.access import init_audit_log
    from xinan.errors import UsageError

    ring = Keyring(tmp_path / "keys")
    for name, role in (("sa", "sys-admin"), ("sec", "sec-admin"), ("aud", "audit-admin")):
        ring.generate(name, role, "intl", PASS, now=T0)
        with pytest.raises(UsageError, match="never signed by an administrator"):
            init_audit_log(tmp_path / name / "audit.log", keyring=ring, log_key=name)


def test_grant_issue_needs_no_platform_passphrase_after_delegation(world) -> None:
    """Item 2: once the platform operator has delegated the platform key's signing half
    (``vault delegate-signing``, logged), the security administrator issues and revokes
    grants with its own key and token — and the pseudonym key, for the clear subject ID —
    and is never asked the platform key's passphrase. The delegated signer signs as the
    platform (the grant verifies with the platform's public key) and cannot unwrap the
    vault's key."""
    from datetime import date, timedelta

    from xinan.formats.grant import verify_grant
    from xinan.platform.signing import load_delegated_signer

    w = world

    def platform_pw(what: str) -> str:
        return PLATFORM_PASS if what.startswith("platform") else PASS

    subject = w.person(0)["证件号码"]
    with platform_as(w, "platform", platform_pw) as p:
        p.delegate_signing()
        consent = p.add_consent(
            subject=subject,
            querent="bank",
            purpose="信易贷授信审查",
            fields=["手机号码"],
            valid_until=date(2026, 12, 31),
            ref="paper:2026-0042",
        )
    assert [e["type"] for e in w.entries("plat")].count("key.delegate") == 1
    src = OnlyOwn("secadm")
    with platform_as(w, "secadm", src) as p:
        grant = p.issue_grant(
            querent="bank",
            purpose="信易贷授信审查",
            fields=["手机号码"],
            subject=subject,
            consent_id=consent.id,
            ttl=timedelta(hours=1),
            output=w.root / "bank.grant",
        )
        p.revoke_grant(grant.claims.jti, valid=timedelta(days=1))
        assert not p.vault.is_unlocked  # the vault's key was never unwrapped
    assert [a for a in src.asked if "platform" in a] == []
    ring = Keyring(w.ring("plat"))
    assert grant.claims.issuer == "platform"
    claims = verify_grant(grant.token, trust=ring, now=w.clock())
    assert claims.authorised_by == ring.get_public("secadm").key_id
    # the delegated signer cannot open the vault
    vault = Vault.open(w.vault)
    try:
        signer = load_delegated_signer(
            w.vault,
            vault_id=vault.config.id,
            keyring=ring,
            platform_key_id=vault.config.platform_key_id,
        )
        assert signer is not None
        with pytest.raises(KeyringError, match="signs only"):
            vault.unlock(signer)
    finally:
        vault.close()
