"""Keyed pseudonyms: one rule for every pseudonym xinan writes (subject pseudonyms carry the key id
and are matched by PSEUDONYM_RE).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import date
from typing import Protocol

from xinan._codec import b32_lower_many
from xinan.errors import UsageError
from xinan.identifiers import (
    is_valid_resident_id,
    is_valid_uscc,
)

PSEUDONYM_PREFIX = "ps1"


class Pseudonymizer(Protocol):
    """A keyed MAC under a named key (keys.py supplies one; never a bare or salted hash)."""

    @property
    def key_id(self) -> str: ...

    def mac(self, data: bytes) -> bytes: ...


def pseudonym(key: Pseudonymizer, namespace: str, value: str) -> str:
    """``ps1.<key id>.<base32 of 128 bits of HMAC>`` over the normalised value.

    Normalisation (strip, upper-case) makes ``x``/``X`` check characters and stray spaces join;
    the namespace separates e.g. subject identifiers from other pseudonymised columns.
    """
    norm = value.strip().upper()
    mac = key.mac(b"xinan-pseudonym/1\x00" + namespace.encode() + b"\x00" + norm.encode())
    tag = base64.b32encode(mac[:16]).decode().rstrip("=").lower()
    return f"{PSEUDONYM_PREFIX}.{key.key_id}.{tag}"


def pseudonyms(key: Pseudonymizer, namespace: str, values: Sequence[str]) -> list[str]:
    """:func:`pseudonym` of many values (the same strings; an empty value stays empty, as the
    ``pseudonym`` operator leaves it), the base32 done once for the whole list."""
    pre = b"xinan-pseudonym/1\x00" + namespace.encode() + b"\x00"
    mac = key.mac
    full = [v for v in values if v]
    tags = [mac(pre + v.strip().upper().encode())[:16] for v in full]
    made = iter(b32_lower_many(tags, f"{PSEUDONYM_PREFIX}.{key.key_id}."))
    return [next(made) if v else v for v in values]


# A keyed pseudonym as it is written: ps1.<key id>.<26 base32 characters>
PSEUDONYM_RE = re.compile(r"\Aps1\.xs1[a-z2-7]{1,61}\.[a-z2-7]{26}\Z")


def subject_pseudonym(identifier: str, key: Pseudonymizer, namespace: str, *, today: date) -> str:
    """The keyed pseudonym of a data subject named by an operator (the one rule for consents,
    grants, listings, objections and the subject access report): a resident ID (GB 11643) or a
    USCC (GB 32100), checked first — a mistyped number would make a pseudonym that matches no
    one, and a consent or report that silently covers nobody — or a pseudonym ``ps1.…`` made
    with ``key``, passed through. ``today`` bounds birth dates; nothing here reads the clock.

    Raises :class:`UsageError` for anything else, without repeating the value (it may be a
    mistyped but still personal number).
    """
    value = identifier.strip()
    if PSEUDONYM_RE.match(value):
        if not value.startswith(f"{PSEUDONYM_PREFIX}.{key.key_id}."):
            raise UsageError(
                "the pseudonym was made with another pseudonym key than the one given",
                hint="pass the vault's pseudonym key (--pseudonym-key), or the clear ID",
            )
        return value
    if not value:
        raise UsageError("empty subject identifier")
    if not (is_valid_resident_id(value, today=today) or is_valid_uscc(value)):
        raise UsageError(
            "the subject identifier is neither a valid resident ID number nor a valid unified "
            "social credit code (check character, birth date; the value is not shown)",
            hint="check the digits and the check character; a pseudonym ps1.… is accepted too",
        )
    return pseudonym(key, namespace, value)
