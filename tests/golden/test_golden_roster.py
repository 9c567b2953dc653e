"""Golden files of the roster (docs/keys.md §8, xinan-roster/1), written once by
tests/golden/make_roster.py with a committed test-only keyring. Today's reader must parse the
first roster and accept its sys-admin's signature (the file-level checks ``load_roster`` makes
of a first roster; the audit log's anchors are not part of the file), today's writer must
reproduce it byte for byte, and every committed mutation must be refused with the xinan error
named in the table — never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden.make_roster import keyring, write_first
from xinan.errors import IntegrityError, KeyringError, XinanError
from xinan.roster import Roster, _verify, parse_roster

GOLDEN = Path(__file__).resolve().parent / "roster"

ROSTER_REFUSALS: dict[str, type[XinanError]] = {
    "sig_flipped.json": IntegrityError,
    "clearance_raised.json": IntegrityError,
    "member_removed.json": IntegrityError,
    "serial_changed.json": IntegrityError,
    "wrong_version.json": KeyringError,
    "truncated.json": KeyringError,
    "compact.json": KeyringError,
    "member_added.json": KeyringError,
    "member_listed_twice.json": KeyringError,
}


def _read(path: Path) -> Roster:
    r = parse_roster(path.read_bytes(), str(path))
    _verify(keyring(), r, r)  # a first roster is signed by a sys-admin it names
    return r


def test_roster_golden_read() -> None:
    r = _read(GOLDEN / "roster-1.json")
    assert (r.serial, r.previous, r.log.path) == (1, "", "audit.log")
    assert [(m.id, m.role.value, m.clearance, m.status) for m in r.members] == [
        ("bank", "querent", 2, "active"),
        ("secadm", "sec-admin", 1, "active"),
        ("sysadm", "sys-admin", 1, "active"),
    ]
    assert r.member(r.signer) is not None and r.member(r.signer).id == "sysadm"  # type: ignore[union-attr]


def test_roster_golden_written_again() -> None:
    assert write_first(keyring()) == (GOLDEN / "roster-1.json").read_bytes()


def test_roster_mutations_all_listed() -> None:
    assert sorted(p.name for p in (GOLDEN / "bad").iterdir()) == sorted(ROSTER_REFUSALS)


@pytest.mark.parametrize("name", sorted(ROSTER_REFUSALS))
def test_roster_mutation_refused(name: str) -> None:
    with pytest.raises(XinanError) as info:
        _read(GOLDEN / "bad" / name)
    assert type(info.value) is ROSTER_REFUSALS[name], info.value
