"""The ids a person types: one shape each, and unique prefixes (as git takes short hashes).

This module owns how a typed id is matched against the ids that exist (issue 15, item 7):

* an exact match wins;
* else a prefix of at least :data:`MIN_PREFIX` characters that names exactly one id;
* an ambiguous prefix is refused with the candidates listed; an unknown id is refused.

It also owns the **display form of a grant id**. A grant's ``jti`` (docs/grant.md §4) is
base64url and may begin with ``-``, which a command line takes for an option; the typed and
displayed form is ``g.<jti>`` (:func:`grant_display`), which never does. The wire is
unchanged; the bare ``jti`` is still accepted everywhere a grant id is typed.
"""

from __future__ import annotations

from collections.abc import Iterable

from xinan.errors import UsageError

MIN_PREFIX = 4
GRANT_PREFIX = "g."
_SHOWN = 10


def grant_display(jti: str) -> str:
    """``g.<jti>``: the grant id as shown and typed (cannot begin with ``-``)."""
    return GRANT_PREFIX + jti


def grant_typed(text: str) -> str:
    """A typed grant id without its display prefix (the bare jti is accepted as well)."""
    return text[len(GRANT_PREFIX) :] if text.startswith(GRANT_PREFIX) else text


def resolve(typed: str, known: Iterable[str], what: str, *, shown: str = "") -> str:
    """The one id of ``known`` that ``typed`` names (exactly, or as a unique prefix of at
    least :data:`MIN_PREFIX` characters). ``shown`` is prepended to ids in messages (the
    display prefix). Raises :class:`~xinan.errors.UsageError` naming the candidates."""
    ids = list(dict.fromkeys(known))
    if typed in ids:
        return typed
    if len(typed) < MIN_PREFIX:
        raise UsageError(
            f"no {what} {shown}{typed}",
            hint=f"give the whole id or at least {MIN_PREFIX} characters of it",
        )
    matches = [i for i in ids if i.startswith(typed)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no {what} {shown}{typed}", hint=f"list them: the {what} list command")
    listed = ", ".join(shown + m for m in sorted(matches)[:_SHOWN])
    more = f" and {len(matches) - _SHOWN} more" if len(matches) > _SHOWN else ""
    raise UsageError(
        f"{what} id {shown}{typed} is ambiguous: {listed}{more}",
        hint="type more characters of the id",
    )


__all__ = ["GRANT_PREFIX", "MIN_PREFIX", "grant_display", "grant_typed", "resolve"]
