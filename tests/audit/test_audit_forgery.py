"""The log never signs what it did not write (issue 11, docs/audit-log.md §7).

Each test plays an insider who can write the log's files but holds no key: the sidecar deleted
or cut back, entries edited and renumbered, forged lines before a torn fragment, a header
offset moved, links planted at the names repair writes to. Before this change each of these
was "recovered" and signed at the next open (or by `audit repair`) and `audit verify` then
said ok; now the writer refuses, repair adopts nothing unproven, and verify names the event.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.audit.test_audit_log import (
    KEYS,
    ORIGIN,
    SIGNER,
    Clock,
    event,
    lines,
    make_log,
    write_lines,
)
from xinan.audit import AuditLog, verify_log
from xinan.audit.entry import parse_entry
from xinan.audit.log import TornLogError, UnsignedEntriesError
from xinan.audit.sidecar import SIDECAR_MAGIC, SIDECAR_MAGIC_V1, Intent
from xinan.errors import (
    AuditError,
    AuditViolation,
    BadSignature,
    EntryModified,
    TornTail,
    UncoveredEntries,
    UnsignedEntries,
    XinanError,
)


def sidecar(path: Path) -> Path:
    return Path(str(path) + ".checkpoints")


def writer(path: Path, **kw: object) -> AuditLog:
    return AuditLog.open(path, signer=SIGNER, origin=ORIGIN, clock=Clock(), **kw)  # type: ignore[arg-type]


def renumber(ls: list[bytes]) -> list[bytes]:
    """Give the lines consecutive seqs again, as a forger hiding a deletion would."""
    out = []
    for i, line in enumerate(ls):
        seq = parse_entry(line)["seq"]
        out.append(line.replace(b'"seq":%d,' % seq, b'"seq":%d,' % i))
    return out


def cut_sidecar_after_checkpoint(path: Path, size: int) -> None:
    """Keep the sidecar up to (and including) the checkpoint record of tree size ``size``."""
    data = sidecar(path).read_bytes()
    marker = f"\n{size}\n".encode()
    pos = 0
    while True:
        pos = data.index(b"@checkpoint ", pos)
        end = data.find(b"\n\n", data.index(b"\n\n", pos) + 1) + 2
        if marker in data[pos:end]:
            sidecar(path).write_bytes(data[:end])
            return
        pos = end


def expect(path: Path, cls: type[AuditViolation]) -> AuditViolation:
    with pytest.raises(cls) as ei:
        verify_log(path, keys=KEYS)
    return ei.value


# -- forged history is never signed -----------------------------------------------------------


def test_deleted_sidecar_and_renumbered_entries_are_refused_not_signed(tmp_path: Path) -> None:
    path = make_log(tmp_path, 6)
    sidecar(path).unlink()
    ls = lines(path)
    write_lines(path, renumber(ls[:2] + ls[3:]))  # entry 2 removed, the rest renumbered
    with pytest.raises(UnsignedEntriesError) as ei:
        writer(path)
    assert ei.value.offset == 0 and "verify" in (ei.value.hint or "")
    assert sidecar(path).read_bytes() in (b"", SIDECAR_MAGIC)  # nothing was signed
    exc = expect(path, UnsignedEntries)
    assert exc.data["first"] == 0 and exc.data["count"] == 5


def test_sidecar_cut_back_and_entries_edited_are_refused(tmp_path: Path) -> None:
    path = make_log(tmp_path, 6)
    cut_sidecar_after_checkpoint(path, 3)
    before = sidecar(path).read_bytes()
    ls = lines(path)
    ls[4] = ls[4].replace(b"r-00004", b"r-99999")
    write_lines(path, renumber(ls[:3] + ls[4:]))  # entry 3 removed, entry 4 edited
    with pytest.raises(UnsignedEntriesError):
        writer(path)
    with pytest.raises(UnsignedEntriesError):  # and so is every append
        writer(path, allow_torn=True).append(event(9))
    assert sidecar(path).read_bytes() == before
    exc = expect(path, UnsignedEntries)
    assert exc.data["first"] == 3 and exc.data["count"] == 2


def test_a_replayed_intent_does_not_vouch_for_edited_entries(tmp_path: Path) -> None:
    path = make_log(tmp_path, 5)
    data = sidecar(path).read_bytes()
    sidecar(path).write_bytes(data[: data.rfind(b"@checkpoint ")])  # the intent for 4 stays
    ls = lines(path)
    ls[4] = ls[4].replace(b"r-00004", b"r-66666")
    write_lines(path, ls)
    with pytest.raises(UnsignedEntriesError):
        writer(path)
    expect(path, UnsignedEntries)


def test_forged_intent_signature_adopts_nothing(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    data = sidecar(path).read_bytes()
    data = data[: data.rfind(b"@checkpoint ")]
    i = data.rfind(b"=\n")  # flip a byte of the intent's signature
    sidecar(path).write_bytes(data[: i - 3] + bytes([data[i - 3] ^ 1]) + data[i - 2 :])
    with pytest.raises(UnsignedEntriesError):
        writer(path)
    exc = expect(path, BadSignature)
    assert exc.data == {"intent": 2}


def test_moved_checkpoint_offset_cannot_hide_a_forged_line(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    ls = lines(path)
    forged = ls[2].replace(b'"seq":2', b'"seq":3')
    write_lines(path, [*ls, forged])
    data = sidecar(path).read_bytes()
    at = data.rfind(b"@checkpoint offset=")
    head_end = data.index(b" ", at + 19)
    old = int(data[at + 19 : head_end])
    moved = data[: at + 19] + str(old + len(forged) + 1).encode() + data[head_end:]
    sidecar(path).write_bytes(moved)
    with pytest.raises(UnsignedEntriesError):
        writer(path)


def test_prune_refuses_to_sign_an_edited_prefix(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 1, tzinfo=UTC))
    path = make_log(tmp_path, 6, clock)
    ls = lines(path)
    ls[1] = ls[1].replace(b"r-00001", b"r-77777")
    write_lines(path, ls)
    before = sidecar(path).read_bytes()
    now = datetime(2025, 6, 1, tzinfo=UTC)
    with writer(path) as log, pytest.raises(UnsignedEntriesError):
        log.prune(now, retention_days=184, now=now)
    assert not Path(f"{path}.pruned").exists() and sidecar(path).read_bytes() == before
    expect(path, EntryModified)


def test_refused_command_on_a_forged_log_signs_nothing(tmp_path: Path) -> None:
    """Through the CLI: an ordinary command (here one its role may not run, exit 77 before
    this change) fails on the forged log and leaves no signature behind."""
    from click.testing import CliRunner

    import xinan.cli.audit_cmds  # noqa: F401
    from xinan.access import init_audit_log, log_signer
    from xinan.audit.entry import AuditEvent
    from xinan.cli._app import app
    from xinan.keys import Keyring

    pw = "a long enough passphrase"
    ring = Keyring(tmp_path / "keys")
    now = datetime.now(UTC)
    for name, role in (("platform", "platform"), ("q", "querent")):
        ring.generate(name, role, "intl", pw, now=now)
    log = tmp_path / "audit" / "audit.log"
    cfg = init_audit_log(log, keyring=ring)
    signer = log_signer(log, cfg, keyring=ring)
    with AuditLog.open(log, signer=signer, origin=cfg.origin, clock=lambda: now) as a:
        for _ in range(3):
            a.append(AuditEvent("verify", "xk1platformtest", "platform"))
    from tests.conftest import bootstrap_keyring

    bootstrap_keyring(ring, log, tmp_path / "tokens", passphrase=pw, now=now)  # the roster
    sidecar(log).unlink()
    ls = lines(log)
    write_lines(log, renumber(ls[1:]))
    env = {"XINAN_KEYRING": str(ring.path), "XINAN_PASSPHRASE": pw, "XINAN_AUDIT_LOG": str(log)}
    r = CliRunner().invoke(app, ["--as", "q", "audit", "prune"], env=env)
    assert r.exit_code == 1 and "no signature" in r.output + str(r.exception or ""), r.output
    assert sidecar(log).read_bytes() in (b"", SIDECAR_MAGIC)
    r = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert r.exit_code == 1 and "vouched for by no signature" in r.output


# -- crash recovery adopts only what a signed intent proves -----------------------------------


def cut_commit(path: Path, keep: int | None) -> int:
    side = sidecar(path)
    data = side.read_bytes()
    side.write_bytes(data[: data.rfind(b"@checkpoint ")])
    start = int(data[data.rfind(b"@intent\n") :].split(b"offset ")[1].split(b" ")[0])
    if keep is not None:
        with path.open("r+b") as f:
            f.truncate(start + keep)
    return start


def batch_log(tmp_path: Path) -> Path:
    path = make_log(tmp_path, 2)
    with writer(path) as log, log.batch():
        for i in range(2, 6):
            log.append(event(i))
    return path


def test_crash_after_the_entries_is_adopted_without_loss(tmp_path: Path) -> None:
    path = batch_log(tmp_path)
    cut_commit(path, None)
    expect(path, UncoveredEntries)
    with writer(path) as log:
        assert log.size == 7  # the 4 entries of the batch adopted, + audit.recovered
    r = verify_log(path, keys=KEYS)
    assert r.size == 7 and parse_entry(lines(path)[-1])["type"] == "audit.recovered"


def test_forged_line_before_a_torn_fragment_is_never_adopted(tmp_path: Path) -> None:
    path = make_log(tmp_path, 4)
    before = sidecar(path).read_bytes()
    ls = lines(path)
    forged = ls[3].replace(b'"seq":3', b'"seq":4').replace(b"r-00003", b"r-55555")
    path.write_bytes(path.read_bytes() + forged + b"\n" + ls[0][:40])
    with pytest.raises((UnsignedEntriesError, TornLogError)):
        writer(path)
    with writer(path, allow_torn=True) as log, pytest.raises(UnsignedEntriesError):
        log.quarantine_torn_tail()  # `audit repair`
    assert sidecar(path).read_bytes() == before  # nothing signed
    exc = expect(path, UnsignedEntries)
    assert exc.data["first"] == 4 and exc.data["offset"] > 0


def test_interrupted_commit_with_a_forged_line_is_moved_aside_not_adopted(tmp_path: Path) -> None:
    path = batch_log(tmp_path)
    start = cut_commit(path, 0)
    ls = lines(path)
    forged = ls[1].replace(b'"seq":1', b'"seq":2')
    path.write_bytes(path.read_bytes() + forged + b"\n" + forged[:30])  # shorter than intended
    exc = expect(path, TornTail)
    assert exc.data["interrupted"]
    with writer(path, allow_torn=True) as log:
        assert log.quarantine_torn_tail() == len(forged) + 31
    (aside,) = path.parent.glob(f"audit.log.torn-{start}-*")
    assert aside.read_bytes().startswith(forged)
    r = verify_log(path, keys=KEYS)
    assert r.size == 3  # 2 entries + audit.quarantine; the forged line is not in the tree
    assert forged not in path.read_bytes()


def test_repair_writes_through_no_planted_link(tmp_path: Path) -> None:
    path = batch_log(tmp_path)
    start = cut_commit(path, 30)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    for name in (f"audit.log.torn-{start}", f"audit.log.torn-{start}.tmp"):
        os.symlink(victim, path.parent / name)  # the names repair used to write to
    with writer(path, allow_torn=True) as log:
        assert log.quarantine_torn_tail() == 30
    assert victim.read_bytes() == b"precious\n"
    (aside,) = [p for p in path.parent.glob(f"audit.log.torn-{start}-*") if not p.is_symlink()]
    assert aside.stat().st_mode & 0o777 == 0o600 and len(aside.name.split("-")[-1]) == 32
    verify_log(path, keys=KEYS)


def test_log_file_that_is_a_link_is_not_written_through(tmp_path: Path) -> None:
    path = make_log(tmp_path, 1)
    victim = tmp_path / "victim"
    victim.write_bytes(path.read_bytes())
    path.unlink()
    os.symlink(victim, path)
    with pytest.raises(AuditError, match="symbolic link"):
        writer(path)
    assert victim.read_bytes().count(b"\n") == 1


def test_torn_checkpoint_record_is_repairable(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    data = sidecar(path).read_bytes()
    last = data.rfind(b"@checkpoint ")
    sidecar(path).write_bytes(data[: last + 70])  # a power cut inside the checkpoint write
    with pytest.raises(TornLogError) as ei:
        writer(path)
    assert ei.value.file.endswith(".checkpoints")
    exc = expect(path, UncoveredEntries)  # entry 2: its intent holds, its checkpoint is torn
    assert any(isinstance(x, TornTail) for x in exc.report.violations)
    with writer(path, allow_torn=True) as log:
        assert log.quarantine_torn_tail() == 70
    (aside,) = path.parent.glob(f"audit.log.checkpoints.torn-{last}-*")
    assert aside.read_bytes() == data[last : last + 70]
    r = verify_log(path, keys=KEYS)
    # entry 2 adopted through its intent, then audit.recovered and audit.quarantine
    assert r.size == 5
    types = [parse_entry(x)["type"] for x in lines(path)[3:]]
    assert types == ["audit.recovered", "audit.quarantine"]


def test_version_1_sidecar_is_read_and_upgraded_in_place(tmp_path: Path) -> None:
    path = make_log(tmp_path, 3)
    data = sidecar(path).read_bytes()
    parts = data[len(SIDECAR_MAGIC) :].split(b"\n\n@")
    v1 = [p for p in parts if not p.startswith((b"@intent", b"intent"))]
    body = b"\n\n@".join(v1)
    sidecar(path).write_bytes(SIDECAR_MAGIC_V1 + (body if body.startswith(b"@") else b"@" + body))
    assert verify_log(path, keys=KEYS).size == 3
    with writer(path) as log:
        log.append(event(3))
    assert sidecar(path).read_bytes().startswith(SIDECAR_MAGIC)
    assert verify_log(path, keys=KEYS).size == 4


def test_signer_without_verifier_cannot_write(tmp_path: Path) -> None:
    class Blind:
        name = ORIGIN
        key_id = SIGNER.key_id

        def sign(self, msg: bytes) -> bytes:
            return SIGNER.sign(msg)

    with pytest.raises(AuditError, match="verifier"):
        AuditLog.open(tmp_path / "l", signer=Blind(), origin=ORIGIN, clock=Clock())


# -- parsers raise only xinan errors ----------------------------------------------------------


def test_intent_text_is_strict() -> None:
    it = Intent(ORIGIN, "sha256", 1, 3, 10, 90, b"\x01" * 32)
    assert Intent.parse(it.text()) == it
    for bad in (
        it.text().replace("size 1 3", "size 01 3"),
        it.text().replace("size 1 3", "size 3 1"),
        it.text().replace("hash sha256", "hash md5"),
        it.text() + "extra\n",
        it.text().replace("root AQ", "root \u00e9Q"),
        "xinan-audit-intent/1\n",
    ):
        with pytest.raises(XinanError):
            Intent.parse(bad)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damaged_sidecar_raises_only_xinan_errors(tmp_path_factory, data) -> None:
    base = tmp_path_factory.mktemp("side")
    path = make_log(base, 3)
    side = sidecar(path)
    raw = side.read_bytes()
    pos = data.draw(st.integers(0, len(raw)))
    junk = data.draw(
        st.sampled_from(["\u00e9", "\u0661", "\ufeff", "\u2014", "\n", "@", "=", " ", "\x00"])
    ).encode()
    cut = data.draw(st.integers(0, 2))
    side.write_bytes(raw[:pos] + junk + raw[pos + cut :])
    # any exception other than xinan's own fails the test
    with contextlib.suppress(XinanError):
        writer(path).close()
    with contextlib.suppress(XinanError):
        verify_log(path, keys=KEYS)
    with contextlib.suppress(XinanError), writer(path, allow_torn=True) as log:
        log.quarantine_torn_tail()  # a repair attempt also fails closed


def test_proof_with_non_ascii_digits_or_base64_is_refused(tmp_path: Path) -> None:
    from xinan.audit.proof import check_proof, prove_inclusion

    path = make_log(tmp_path, 4)
    proof = prove_inclusion(path, 1)
    cp = verify_log(path, keys=KEYS).latest_checkpoint.encode()
    assert check_proof(proof, cp, keys=tuple(KEYS)).index == 1
    for bad in (
        proof.replace("\nindex 1\n", "\nindex \u0661\n"),  # ARABIC-INDIC DIGIT ONE
        proof.replace("\nextra ", "\nextra \u00e9"),
    ):
        with pytest.raises(XinanError):
            check_proof(bad, cp, keys=tuple(KEYS))
