"""The share rules as objects (issue 10, build item 7): AllOf runs them in order, stops at the
first refusal and names the rule that refused; each rule raises its own refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xinan.errors import AccessDenied, GrantExpired, GrantRevoked, XinanError
from xinan.formats.grant import Consent, GrantRequest
from xinan.share_rules import AllOf, InForce, Named, ShareCase, WithinConsent

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
PS = "ps1.xs1testkey." + "a" * 26  # the shape of a keyed pseudonym
KQ = "xk1" + "q" * 24  # the shape of a querent key id


def terms(**kw):
    base = dict(
        querent=KQ,
        purpose="信易贷授信审查",
        fields=("手机号码",),
        subjects=(PS,),
        consent_id="c1",
        not_before=NOW - timedelta(hours=1),
        expires=NOW + timedelta(hours=1),
    )
    return GrantRequest(**{**base, **kw})


def consent(**kw):
    base = dict(
        id="c1",
        subject=PS,
        querent=KQ,
        purpose="信易贷授信审查",
        fields=("手机号码", "现住址"),
        valid_until=NOW + timedelta(days=1),
        ref="paper:1",
    )
    return Consent(**{**base, **kw})


class Seen(Named):
    def __init__(self, name, log, fail=False):
        self.name, self.log, self.fail = name, log, fail

    def check(self, case):
        self.log.append(self.name)
        if self.fail:
            raise AccessDenied(f"{self.name} says no")


def run(rules, case):
    refused = []

    def refuse(name, exc):
        refused.append(name)
        return exc

    try:
        AllOf(*rules).check(case, refuse=refuse)
    except XinanError as e:
        return refused, e
    return refused, None


def test_allof_stops_at_the_first_refusal_and_names_it():
    log = []
    rules = [Seen("a", log), Seen("b", log, fail=True), Seen("c", log)]
    refused, exc = run(rules, ShareCase(now=NOW))
    assert log == ["a", "b"] and refused == ["b"] and isinstance(exc, AccessDenied)


def test_allof_passes_when_every_rule_passes():
    log = []
    assert run([Seen("a", log), Seen("b", log)], ShareCase(now=NOW)) == ([], None)
    assert log == ["a", "b"]


@pytest.mark.parametrize(
    ("case", "name", "error"),
    [
        (ShareCase(now=NOW, jti="j", terms=terms(), revoked_at="2026-11-24T00:00:00Z"),
         "GrantRevoked", GrantRevoked),
        (ShareCase(now=NOW + timedelta(hours=2), jti="j", terms=terms()),
         "GrantExpired", GrantExpired),
    ],
)  # fmt: skip
def test_in_force_refuses_under_the_error_name(case, name, error):
    refused, exc = run([InForce(lambda: frozenset())], case)
    assert refused == [name] and isinstance(exc, error)


def test_in_force_reads_the_revocation_list_too():
    refused, _ = run([InForce(lambda: {"j"})], ShareCase(now=NOW, jti="j", terms=terms()))
    assert refused == ["GrantRevoked"]


def test_within_consent_names_the_consent_rule():
    wider = terms(fields=("手机号码", "证件号码"))
    refused, exc = run([WithinConsent(lambda _id: consent())], ShareCase(now=NOW, terms=wider))
    assert refused and refused[0].startswith("grant-within-consent")
    assert isinstance(exc, AccessDenied)
    assert run([WithinConsent(lambda _id: consent())], ShareCase(now=NOW, terms=terms()))[0] == []
