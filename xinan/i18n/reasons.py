"""Reject reasons: a stable machine code for each, and the reason in the chosen language.

The validators say why a row was refused in English (``"required but empty"``,
``"not a real calendar date"`` …). The rejects file (docs/records.md §8) carries that reason
in the language of the run (:mod:`xinan.i18n`) and, beside it, a ``code`` that never changes
with the language or the wording, for scripts and for the platform's KPIs. This module maps
each reason to its code by the English text's shape; a reason no entry matches gets
``invalid_value`` (a value refused by a rule with no code of its own yet).

The English texts are also catalogue templates (xinan/i18n/messages.py), so that every
reason listed here has its Chinese wording.
"""

from __future__ import annotations

import re
from functools import cache

from xinan.i18n import translate

# (code, English text of the reason; ``{x}`` stands for any text). Most specific first.
REASONS: tuple[tuple[str, str], ...] = (
    ("required_empty", "required but empty"),
    ("required_for_class", "required for a {cls} subject but empty"),
    ("unknown_subject_class", "unknown subject class"),
    (
        "prohibited_data",
        "prohibited:{cat} — {label} must not be collected (征信业管理条例 第十四条)",
    ),
    (
        "consent_required",
        "consent-required:{gate} — needs the subject's written consent or a legal basis in "
        "{fields} (征信业管理条例 第十四条)",
    ),
    (
        "bad_resident_id",
        "not a valid resident ID (GB 11643-1999: check character, birth date, region)",
    ),
    ("bad_resident_id", "not a valid resident ID: {problem}"),
    ("bad_uscc", "not a valid unified social credit code (GB 32100-2015 check character)"),
    ("bad_document_number", "not a valid document number (5–32 letters or digits)"),
    ("not_allowed_value", "not one of the allowed values ({values})"),
    ("bad_date", "not a real calendar date"),
    ("bad_date", "not a date (YYYY-MM-DD)"),
    ("bad_number", "must be a non-negative number"),
    ("bad_number", "not a number"),
    ("bad_number", "not a whole number"),
    ("bad_name", "not a person's name (no digits, ≤ 64 characters)"),
    ("bad_bank_card", "not a valid bank card number (Luhn check)"),
    ("bad_code", "not a valid code (≤ 64 characters, no control characters)"),
    ("bad_email", "not a valid e-mail address"),
    ("bad_mobile", "not a valid mainland mobile number"),
    ("bad_phone", "not a valid phone number (mobile, or landline with area code)"),
    ("too_long", "field longer than {n} characters"),
    ("too_long", "longer than {n} characters"),
    ("too_long", "line longer than {n} characters"),
    ("nul_byte", "NUL byte"),
    ("bad_encoding", "bytes not valid in {encoding}"),
    (
        "bad_encoding",
        "bytes not valid in {encoding} (the encoding detected from the start of the file; name "
        "the encoding if that is wrong)",
    ),
    ("field_count", "row has {n} fields, header has {m}"),
    ("field_count", "row has {n} field, header has {m}"),
    (
        "unterminated_quote",
        "unterminated quoted field; the rest of the file (rows {rows}) could not be parsed",
    ),
    ("guard", "guard:{what}"),
)

DEFAULT_CODE = "invalid_value"
_FIELD = re.compile(r"\{([a-z_]+)\}")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    out = []
    for code, text in REASONS:
        pattern = ""
        pos = 0
        for m in _FIELD.finditer(text):
            pattern += re.escape(text[pos : m.start()]) + ".+?"
            pos = m.end()
        pattern += re.escape(text[pos:])
        out.append((re.compile(pattern + r"\Z", re.DOTALL), code))
    return tuple(out)


def reason_code(reason: str) -> str:
    """The stable code of a reject reason (``invalid_value`` when it has none of its own)."""
    for pattern, code in _patterns():
        if pattern.match(reason):
            return code
    return DEFAULT_CODE


def localise(reason: str, lang: str | None = None) -> str:
    """The reason in ``lang`` (default: the run's language); English when not in the catalogue."""
    return translate(reason, lang)
