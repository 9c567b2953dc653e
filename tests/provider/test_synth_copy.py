"""tests/support/synth.py's copies are new generators: the same rows as ``Synth(...)``, and
using one copy changes nothing in the next."""

from __future__ import annotations

from tests.conftest import TODAY
from tests.support.synth import fresh_synth
from xinan.provider.synth import Synth


def test_a_copy_yields_what_a_new_generator_yields(policy) -> None:
    for kind in ("penalty", "license"):
        k = policy.kind(kind)
        new = list(Synth(policy, seed=4, today=TODAY).rows(k, 60, bad_rate=0.1))
        assert list(fresh_synth(policy, seed=4, today=TODAY).rows(k, 60, bad_rate=0.1)) == new
        # again: the first copy's draws left the pristine generator as it was
        assert list(fresh_synth(policy, seed=4, today=TODAY).rows(k, 60, bad_rate=0.1)) == new
        assert (
            fresh_synth(policy, seed=4, today=TODAY).resident_id()
            == Synth(policy, seed=4, today=TODAY).resident_id()
        )


def test_other_seeds_give_other_rows(policy) -> None:
    k = policy.kind("penalty")
    a = list(fresh_synth(policy, seed=1, today=TODAY).rows(k, 20))
    b = list(fresh_synth(policy, seed=2, today=TODAY).rows(k, 20))
    assert a != b
