"""What a querent can read about its grants and its opened data (issue 15, item 9).

* :func:`describe_grant` — a grant file read as its holder needs it (``xinan grant show``):
  the platform's signature verified with public keys only (no passphrase), then who may
  receive which fields of how many subjects, for what purpose, under which consent, until
  when, and whether it is valid now.
* :func:`write_provenance` — beside every opened file, ``<output>.grant.json``
  (``xinan-opened/1``, docs/provenance.md): which grant, purpose, consent, share, release
  and date the data came from, so that a file passed on inside the bank still says on what
  authority it was obtained (征信业管理条例 第十八条: use only for the stated purpose).

Neither holds a subject's clear identifier: grants carry keyed pseudonyms only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from xinan.errors import GrantExpired, GrantNotYetValid
from xinan.fileio import STDIO, write_text_atomic
from xinan.formats.grant import GrantClaims, Trust, verify_grant
from xinan.querent.open_share import ShareOpenResult
from xinan.short_ids import grant_display

PROVENANCE_FORMAT = "xinan-opened/1"
SUFFIX = ".grant.json"
# A grant's window is at most 366 days (docs/grant.md §4): this leeway lets an expired or
# not-yet-valid grant be shown, and only the time checks are relaxed by it.
_ANY_TIME = timedelta(days=800)


@dataclass(frozen=True)
class GrantView:
    claims: GrantClaims
    status: str  # "valid", "expired" or "not yet valid" (revocation needs the platform's list)

    def to_json(self) -> dict[str, Any]:
        c = self.claims
        return {
            "id": grant_display(c.jti),
            "status": self.status,
            "platform": c.issuer,
            "platform_key": c.kid,
            "querent": c.querent,
            "purpose": c.purpose,
            "fields": list(c.fields),
            "subjects": len(c.subjects),
            "consent": c.consent_id,
            "policy": c.policy,
            "not_before": c.not_before.isoformat(),
            "expires": c.expires.isoformat(),
            "authorised_by": c.authorised_by,
        }


def describe_grant(token: str, *, trust: Trust, now: datetime) -> GrantView:
    """Verify ``token``'s signature against ``trust`` (public keys) and describe it; an
    expired or not-yet-valid grant is described with that status, any other failure raises
    as :func:`~xinan.formats.grant.verify_grant` does."""
    try:
        claims = verify_grant(token, trust=trust, now=now)
        return GrantView(claims, "valid")
    except (GrantExpired, GrantNotYetValid):
        claims = verify_grant(token, trust=trust, now=now, leeway=_ANY_TIME)
    status = "expired" if now >= claims.expires else "not yet valid"
    return GrantView(claims, status)


def provenance_path(output: str | Path) -> Path | None:
    """Where the provenance of ``output`` goes (None for standard output)."""
    if str(output) == STDIO:
        return None
    p = Path(output)
    return p.with_name(p.name + SUFFIX)


def provenance(
    result: ShareOpenResult, output: str | Path, *, opened_at: datetime
) -> dict[str, Any]:
    c = result.claims
    return {
        "format": PROVENANCE_FORMAT,
        "file": Path(output).name,
        "grant": grant_display(c.jti),
        "purpose": c.purpose,
        "fields": list(c.fields),
        "consent": c.consent_id,
        "platform": c.issuer,
        "platform_key": c.kid,
        "querent": c.querent,
        "grant_expires": c.expires.isoformat(),
        "share": result.info.package_id,
        "release": result.release_id,
        "records": result.written,
        "withheld": result.withheld,
        "opened_at": opened_at.isoformat(),
    }


def write_provenance(
    result: ShareOpenResult, output: str | Path, *, opened_at: datetime
) -> Path | None:
    """Write ``<output>.grant.json`` atomically (nothing for standard output)."""
    path = provenance_path(output)
    if path is None:
        return None
    doc = provenance(result, output, opened_at=opened_at)
    write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return path


__all__ = [
    "PROVENANCE_FORMAT",
    "GrantView",
    "describe_grant",
    "provenance",
    "provenance_path",
    "write_provenance",
]
