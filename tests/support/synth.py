"""Synthetic records for tests that need a fresh generator per example.

``Synth(policy, seed=…)`` draws its Faker pools (3,000 names, 2,000 companies) when made:
about 0.3 s, which a property test paying it per example spends 60 times over. A generator
here is made once per (policy, seed, today) and handed out as a copy in exactly the state a
new one would have (tests/provider/test_synth_copy.py checks that it yields the same rows).
"""

from __future__ import annotations

import copy
import random
from datetime import date

from xinan.policy.catalogue import Policy
from xinan.provider.synth import Synth

_PRISTINE: dict[tuple[int, int, date], tuple[Policy, Synth]] = {}


def fresh_synth(policy: Policy, *, seed: int, today: date) -> Synth:
    """``Synth(policy, seed=seed, today=today)``, as new, without drawing the pools again."""
    key = (id(policy), seed, today)
    if key not in _PRISTINE:  # the policy is kept, so that its id is never reused
        _PRISTINE[key] = (policy, Synth(policy, seed=seed, today=today))
    base = _PRISTINE[key][1]
    synth = copy.copy(base)
    synth.rng = random.Random()  # nosec B311 - synthetic test data
    synth.rng.setstate(base.rng.getstate())
    synth.authority_codes = dict(base.authority_codes)
    return synth
