"""Consents, grants, the one-grant-one-share guard, shares and revocation lists at rest
(docs/vault.md §7–§8, docs/grant.md §6–§7)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from xinan.platform.store.base import StoreBase

_CONSENT_KEYS = (
    "id",
    "subject",
    "querent",
    "purpose",
    "fields",
    "valid_until",
    "ref",
    "created_at",
    "created_by",
    "revoked_at",
)
_GRANT_KEYS = (
    "jti",
    "querent",
    "subjects",
    "fields",
    "purpose",
    "consent",
    "issued_at",
    "expires",
    "authorised_by",
    "revoked_at",
    "shares",
    "records_shared",
)


class AccessStore(StoreBase):
    # -- consents ------------------------------------------------------------------------------
    def insert_consent(
        self,
        *,
        consent_id: str,
        subject: str,
        querent: str,
        purpose: str,
        fields: Sequence[str],
        valid_until: str,
        ref: str,
        created_at: str,
        created_by: str,
    ) -> None:
        self._db.execute(
            "INSERT INTO consents VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL)",
            (
                consent_id,
                subject,
                querent,
                purpose,
                json.dumps(list(fields), ensure_ascii=False),
                valid_until,
                ref,
                created_at,
                created_by,
            ),
        )

    def consent_row(self, consent_id: str) -> tuple[Any, ...] | None:
        """(id, subject, querent, purpose, fields (decoded), valid_until, ref, revoked_at)."""
        r = self._db.execute(
            "SELECT consent_id, subject, querent, purpose, fields, valid_until, ref, revoked_at "
            "FROM consents WHERE consent_id = ?",
            (consent_id,),
        ).fetchone()
        if r is None:
            return None
        return (r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], r[7])

    def revoke_consent(self, consent_id: str, *, at: str, by: str) -> None:
        self._db.execute(
            "UPDATE consents SET revoked_at = ?, revoked_by = ? WHERE consent_id = ?",
            (at, by, consent_id),
        )

    def consent_list(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT consent_id, subject, querent, purpose, fields, valid_until, ref, created_at, "
            "created_by, revoked_at FROM consents ORDER BY rowid"
        ).fetchall()
        out = []
        for r in rows:
            d = dict(zip(_CONSENT_KEYS, r, strict=True))
            d["fields"] = json.loads(d["fields"])
            out.append(d)
        return out

    # -- grants --------------------------------------------------------------------------------
    def insert_grant(
        self,
        *,
        jti: str,
        querent: str,
        subjects: Sequence[str],
        fields: Sequence[str],
        purpose: str,
        consent_id: str,
        policy: str,
        issued_at: str,
        not_before: str,
        expires: str,
        authorised_by: str,
        token_digest: str,
    ) -> None:
        self._db.execute(
            "INSERT INTO grants(jti, querent, subjects, fields, purpose, consent_id, policy, "
            "issued_at, not_before, expires, authorised_by, token_digest) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                jti,
                querent,
                json.dumps(list(subjects)),
                json.dumps(list(fields), ensure_ascii=False),
                purpose,
                consent_id,
                policy,
                issued_at,
                not_before,
                expires,
                authorised_by,
                token_digest,
            ),
        )

    def grant_list(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT jti, querent, subjects, fields, purpose, consent_id, issued_at, expires, "
            "authorised_by, revoked_at, shares, records_shared FROM grants ORDER BY rowid"
        ).fetchall()
        out = []
        for r in rows:
            d = dict(zip(_GRANT_KEYS, r, strict=True))
            d["subjects"] = json.loads(d["subjects"])
            d["fields"] = json.loads(d["fields"])
            out.append(d)
        return out

    def grant_expires(self, jti: str) -> str | None:
        row = self._db.execute("SELECT expires FROM grants WHERE jti = ?", (jti,)).fetchone()
        return None if row is None else str(row[0])

    def grant_token_digest(self, jti: str) -> str | None:
        row = self._db.execute("SELECT token_digest FROM grants WHERE jti = ?", (jti,)).fetchone()
        return None if row is None else str(row[0])

    def grant_terms(self, jti: str) -> tuple[Any, ...] | None:
        """(querent, subjects, fields (both decoded), purpose, consent id, not_before,
        expires, revoked_at) of a grant issued here."""
        g = self._db.execute(
            "SELECT querent, subjects, fields, purpose, consent_id, not_before, expires, "
            "revoked_at FROM grants WHERE jti = ?",
            (jti,),
        ).fetchone()
        if g is None:
            return None
        return (g[0], tuple(json.loads(g[1])), tuple(json.loads(g[2])), *g[3:])

    def first_use(self, jti: str, *, expires: str, now: str) -> bool:
        """The persistent replay guard (docs/grant.md §6 step 7): true the first time only.
        Runs inside the caller's transaction, so a share that fails leaves the grant unused."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO grant_uses(jti, expires, used_at) VALUES (?, ?, ?)",
            (jti, expires, now),
        )
        return cur.rowcount == 1

    # -- shares --------------------------------------------------------------------------------
    def insert_share(
        self,
        *,
        share_id: str,
        jti: str,
        querent: str,
        count: int,
        records_digest: str,
        created: str,
        created_by: str,
    ) -> None:
        """The share's row, the grant's use pointing at it and the grant's counters."""
        self._db.execute(
            "INSERT INTO shares VALUES (?,?,?,?,?,?,?)",
            (share_id, jti, querent, count, records_digest, created, created_by),
        )
        self._db.execute("UPDATE grant_uses SET share_id = ? WHERE jti = ?", (share_id, jti))
        self._db.execute(
            "UPDATE grants SET shares = shares + 1, records_shared = records_shared + ? "
            "WHERE jti = ?",
            (count, jti),
        )

    def share_row(self, share_id: str) -> tuple[str, str, int, str] | None:
        """(grant jti, querent key id, count, records digest) of a share made here."""
        row = self._db.execute(
            "SELECT jti, querent, count, records_digest FROM shares WHERE share_id = ?",
            (share_id,),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), int(row[2]), str(row[3]))

    # -- revocation lists ------------------------------------------------------------------------
    def last_revocation_number(self) -> int:
        return int(self._db.execute("SELECT max(number) FROM revocations").fetchone()[0] or 0)

    def revoked_grants(self) -> list[tuple[str, str, str]]:
        """(jti, revoked_at, expires) of every revoked grant, by jti."""
        return [
            (str(j), str(a), str(e))
            for j, a, e in self._db.execute(
                "SELECT jti, revoked_at, expires FROM revoked_grants ORDER BY jti"
            )
        ]

    def revoked_jtis(self) -> frozenset[str]:
        return frozenset(j for (j,) in self._db.execute("SELECT jti FROM revoked_grants"))

    def revoke_grant_row(self, jti: str, *, revoked_at: str, expires: str, now: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO revoked_grants VALUES (?,?,?)", (jti, revoked_at, expires)
        )
        self._db.execute(
            "UPDATE grants SET revoked_at = coalesce(revoked_at, ?) WHERE jti = ?", (now, jti)
        )

    def insert_revocation_edition(
        self, number: int, *, issued: str, next_update: str, body: bytes
    ) -> None:
        self._db.execute(
            "INSERT INTO revocations VALUES (?,?,?,?)", (number, issued, next_update, body)
        )
