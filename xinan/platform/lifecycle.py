"""The platform's life-cycle operations over the vault: public disclosure, objections (异议)
and credit repair (信用修复) (docs/lifecycle.md; issue 7 parts 1–3).

Owns: the 双公示 public export of the vault (which stored record goes out on which date, and
how it is masked), the ``disputes`` and ``repairs`` tables of the vault (docs/vault.md §12), the
status changes they make to records (``disputed_at``, ``repaired_at``, ``archived_at``), the
checks that guard them, and their audit entries.

Does not own: the rules (windows, minimum periods, deadlines are computed by
:mod:`xinan.policy.periods` from the policy's life-cycle tables; working days by
:mod:`xinan.policy.calendar`), masking (:mod:`xinan.masking`), the vault's storage
(:mod:`xinan.platform.vault`), destruction (:mod:`xinan.platform.destruction`), the command line.
It never reads
the clock: ``now`` and the dates are parameters.

Nothing here stores or logs a clear identifier: sealed values needed by a public rule (e.g. a
legal representative's ID, ``keep(1,1)``) are opened in memory and masked; free text typed by
staff (an objection's reason, a commitment reference, a rejection reason, a correction) is
refused when it holds a clear resident ID, mobile or bank card number; a raiser given by ID is
turned into a keyed pseudonym at once.
"""

from __future__ import annotations

from xinan.errors import LifecycleRefused
from xinan.platform.disclosure import DisclosureSummary, disclose
from xinan.platform.disputes import (
    Dispute,
    get_dispute,
    list_disputes,
    open_dispute,
    read_correction,
    resolve_dispute,
)
from xinan.platform.lifecycle_common import (
    DISPUTE_FLAG,
    FLAG_COLUMN,
    TRACKS,
    DisputedPolicy,
    Outcome,
    check_text,
    lifecycle_rules,
    raiser_reference,
    record_facts,
    require,
    window_kind,
)
from xinan.platform.repairs import (
    Repair,
    apply_repair,
    approve_repair,
    archive_entries,
    get_repair,
    list_repairs,
    reject_repair,
)
from xinan.shapes import clear_identifier_kind

__all__ = [
    "DISPUTE_FLAG",
    "FLAG_COLUMN",
    "TRACKS",
    "DisclosureSummary",
    "Dispute",
    "DisputedPolicy",
    "LifecycleRefused",
    "Outcome",
    "Repair",
    "apply_repair",
    "approve_repair",
    "archive_entries",
    "check_text",
    "clear_identifier_kind",
    "disclose",
    "get_dispute",
    "get_repair",
    "lifecycle_rules",
    "list_disputes",
    "list_repairs",
    "open_dispute",
    "raiser_reference",
    "read_correction",
    "record_facts",
    "reject_repair",
    "require",
    "resolve_dispute",
    "window_kind",
]
