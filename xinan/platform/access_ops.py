"""(2) The platform's operations on access: consents, grants, revocation lists, shares and
releases (docs/vault.md §7–§8, docs/grant.md).

Each method checks the role, logs before the effect — a refused grant is logged with the
rule that refused it — and records every read (see :mod:`xinan.platform.service`). Consent
ids are minted here, never by a caller.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from xinan.errors import AccessDenied, UsageError
from xinan.formats.grant import Consent, Grant, end_of_day_cst, write_grant
from xinan.keys import Role
from xinan.platform.lifecycle import check_text
from xinan.platform.pia import Pia, add_pia, consent_basis, list_pias, purge_pias
from xinan.platform.service import PlatformCore
from xinan.platform.vault import ReleaseSummary, ShareSummary, resolve_fields
from xinan.short_ids import GRANT_PREFIX, grant_typed, resolve


class AccessOps(PlatformCore):
    # -- consents (征信业管理条例 第十八条) ------------------------------------------------------
    def add_consent(
        self,
        *,
        subject: str,
        querent: str,
        purpose: str,
        fields: Sequence[str],
        valid_until: date,
        ref: str,
        pia: str | None = None,
        basis: str | None = None,
    ) -> Consent:
        """Record a data subject's authorisation for one querent, purpose and set of fields.
        The subject's clear ID is pseudonymised at once; the consent holds only the pseudonym.
        A consent for a consent-gated field names the PIA it stands on (``pia``) or a legal
        ``basis`` (xinan/platform/pia.py; PIPL art. 55)."""
        self.require("consent")
        now = self.now()
        # the reference is stored and printed: it must not carry a clear identifier
        ref = check_text(ref, "--ref", today=now.date())
        pol = self.policy
        ps = self.subject_pseudonym(subject)
        del subject
        q = self.keyring.get_public(querent)
        if q.role is not Role.QUERENT:
            raise UsageError(f"{q.id} has role {q.role.value}; consents name a querent key")
        until = end_of_day_cst(valid_until)
        if until <= now:
            raise UsageError(f"--valid-until {valid_until.isoformat()} is in the past")
        cid = "c" + secrets.token_hex(13)
        consent = Consent(cid, ps, q.key_id, purpose, resolve_fields(pol, fields), until, ref)
        try:
            pia, basis = consent_basis(
                self.vault, pol, purpose=purpose, fields=consent.fields, pia_id=pia,
                basis=basis, today=self.today(),
            )  # fmt: skip
        except AccessDenied as refused:
            self.session.record(
                "denied",
                outcome="denied",
                objects={"ref": f"rule:{refused.rule}", "fields": list(consent.fields)},
                why={"purpose": purpose},
                subjects=[ps],
            )
            raise
        with self.vault.transaction():
            self.vault.add_consent(consent, by=self.actor.key_id, now=now)
            if pia is not None or basis is not None:
                self.vault.store.insert_consent_basis(cid, pia, basis)
            self.session.record(
                "consent",
                objects={
                    "ref": f"consent:{cid}",
                    "key_ids": [q.key_id],
                    "policy": pol.label,
                    "fields": list(consent.fields),
                },
                why={"purpose": purpose, "consent": cid}
                | ({"basis": f"pia:{pia}" if pia else str(basis)[:500]} if pia or basis else {}),
                subjects=[ps],
            )
        return consent

    def consent_basis(self, consent_id: str) -> tuple[str | None, str | None]:
        """(PIA id, legal basis) the consent stands on; (None, None) when it needs neither."""
        self.require("consent")
        return self.vault.store.consent_basis_row(self.consent_id(consent_id))

    # -- impact assessments (个人信息保护影响评估; xinan/platform/pia.py) -------------------------
    def add_pia(
        self,
        *,
        purpose: str,
        fields: Sequence[str],
        ref: str,
        conclusion: str,
        assessed_on: date | None = None,
    ) -> Pia:
        """Record an impact assessment (role sec-admin; logged ``policy.pia-add``)."""
        self.require("pia")
        today = self.today()
        return add_pia(
            self.vault, self.policy, purpose=purpose, fields=fields, ref=ref,
            conclusion=conclusion, assessed_on=assessed_on or today, session=self.session,
            now=self.now(), today=today,
        )  # fmt: skip

    def pias(self) -> list[Pia]:
        """The assessments kept (role sec-admin; the read is logged)."""
        self.require("pia")
        rows = list_pias(self.vault)
        self.session.record(
            "open",
            objects={"ref": f"vault:{self.vault.config.id}:pias", "counts": {"rows": len(rows)}},
        )
        return rows

    def purge_pias(self, *, ids: Sequence[str] = ()) -> list[str]:
        """Delete assessments past their three years (role sec-admin; logged); a younger one
        named, or one a consent in force stands on, is refused (logged)."""
        self.require("pia")
        return purge_pias(
            self.vault, ids=list(ids), session=self.session, now=self.now(), today=self.today()
        )

    def revoke_consent(self, consent_id: str) -> Consent:
        """Withdraw a consent: no grant is issued under it and no share is built for it after."""
        self.require("consent")
        consent_id = self.consent_id(consent_id)  # an id, a unique prefix or its reference
        with self.vault.transaction():
            c = self.vault.revoke_consent(consent_id, by=self.actor.key_id, now=self.now())
            self.session.record(
                "revoke",
                objects={"ref": f"consent:{c.id}", "key_ids": [c.querent]},
                why={"consent": c.id},
                subjects=[c.subject],
            )
        return c

    def consents(self) -> list[dict[str, Any]]:
        """Every consent (subjects as pseudonyms); the read is logged before it is returned."""
        self.require("consent")
        rows = self.vault.consents()
        self.session.record(
            "open",
            objects={
                "ref": f"vault:{self.vault.config.id}:consents",
                "counts": {"rows": len(rows)},
            },
        )
        return rows

    def consent_id(self, typed: str) -> str:
        """The consent a person typed: its id, a unique prefix of it (issue 15), or the
        authorisation's reference (``--ref``) when exactly one consent carries it."""
        if self.vault.store.consent_row(typed) is not None:  # the whole id: no scan
            return typed
        rows = self.vault.consents()
        by_ref = [r["id"] for r in rows if r["ref"] == typed]
        if len(by_ref) == 1 and typed not in {r["id"] for r in rows}:
            return str(by_ref[0])
        return resolve(typed, [r["id"] for r in rows], "consent")

    # -- grants (docs/grant.md) ---------------------------------------------------------------
    def issue_grant(
        self,
        *,
        querent: str,
        purpose: str,
        fields: Sequence[str],
        subject: str,
        consent_id: str,
        ttl: timedelta,
        output: str | Path,
    ) -> Grant:
        """Issue a grant within a recorded consent (role sec-admin), signed with the vault's
        platform key, and write it to ``output``. Refused when wider than the consent in any
        dimension; the refusal is logged with the rule that refused it."""
        self.require("grant")
        ident = self.session.identity
        if ident is None:  # pragma: no cover - sessions are unlocked
            raise UsageError("issuing needs the sec-admin's key")
        consent_id = self.consent_id(consent_id)
        pol = self.policy
        ps = self.subject_pseudonym(subject)
        del subject
        q = self.keyring.get_public(querent)
        platform = self.platform_signer()
        with self.vault.transaction():
            try:
                grant = self.vault.issue_grant(
                    platform=platform,
                    authorised_by=ident,
                    querent=q,
                    consent_id=consent_id,
                    purpose=purpose,
                    fields=list(fields),
                    subjects=[ps],
                    policy=pol,
                    ttl=ttl,
                    now=self.now(),
                )
            except (AccessDenied, UsageError) as e:
                rule = getattr(e, "rule", None) or type(e).__name__
                self.session.record(
                    "grant",
                    outcome="denied",
                    objects={"ref": f"rule:{rule}", "key_ids": [q.key_id]},
                    why={"purpose": purpose[:200], "consent": consent_id[:128]},
                    subjects=[ps],
                )
                raise
            c = grant.claims
            self.session.record(
                "grant",
                objects={
                    "ref": f"grant:{c.jti}",
                    "key_ids": [q.key_id],
                    "policy": c.policy,
                    "fields": list(c.fields),
                },
                why={"purpose": c.purpose, "grant": c.jti, "consent": c.consent_id},
                subjects=list(c.subjects),
            )
            write_grant(output, grant)
        return grant

    def revoke_grant(self, jti: str, *, valid: timedelta) -> tuple[Path, int]:
        """Revoke a grant and re-sign the revocation list (its path and edition number)."""
        path, number, _ = self.revoke_grant_id(jti, valid=valid)
        return path, number

    def grant_id(self, typed: str) -> str:
        """The grant a person typed: ``g.<jti>``, the bare jti, or a unique prefix of either
        (xinan/short_ids.py)."""
        jti = grant_typed(typed)
        if self.vault.store.grant_expires(jti) is not None:  # the whole id: no scan
            return jti
        known = [g["jti"] for g in self.vault.grants()]
        if not any(k.startswith(jti) for k in known):
            return jti  # the vault refuses it: "no grant … was issued by this vault"
        return resolve(jti, known, "grant", shown=GRANT_PREFIX)

    def revoke_grant_id(self, typed: str, *, valid: timedelta) -> tuple[Path, int, str]:
        """:meth:`revoke_grant` of the grant ``typed`` names; also returns its jti."""
        self.require("grant")
        jti = self.grant_id(typed)
        platform = self.platform_signer()

        def log(number: int) -> None:
            self.session.record(
                "revoke", objects={"ref": f"revocations:{number}"}, why={"grant": jti[:64]}
            )

        path, number = self.vault.revoke_grant(
            jti, platform=platform, now=self.now(), valid=valid, before_commit=log
        )
        return path, number, jti

    def publish_revocations(self, *, valid: timedelta) -> tuple[Path, int]:
        """Sign a fresh edition of the revocation list (before the current one goes stale)."""
        self.require("grant")
        platform = self.platform_signer()

        def log(number: int) -> None:
            self.session.record("revoke", objects={"ref": f"revocations:{number}"})

        return self.vault.publish_revocations(
            platform=platform, now=self.now(), valid=valid, before_commit=log
        )

    def delegate_signing(self, *, secret_file: Path | None = None) -> Path:
        """Hand the platform key's signing half to the platform service (role platform, once;
        logged as ``key.delegate`` before the files are written): the security
        administrator's grant commands then sign as the platform without the platform key's
        passphrase and without its KEM half (docs/vault.md §2.1)."""
        from xinan.platform.signing import delegate_signing

        self.require("vault.delegate")
        platform = self.platform_identity()
        self.session.record(
            "key.delegate",
            objects={
                "ref": f"vault:{self.vault.config.id}:platform-signer",
                "key_ids": [platform.key_id],
            },
            why={"purpose": "grant-signing"},
        )
        return delegate_signing(
            self.vault.path,
            vault_id=self.vault.config.id,
            platform=platform,
            now=self.now(),
            secret_file=secret_file,
        )

    def grants(self) -> list[dict[str, Any]]:
        """Issued grants: querent, fields, expiry, revoked, shares built (the read is logged)."""
        self.require("grant")
        rows = self.vault.grants()
        self.session.record(
            "open",
            objects={"ref": f"vault:{self.vault.config.id}:grants", "counts": {"rows": len(rows)}},
        )
        return rows

    # -- shares and releases (docs/vault.md §8, docs/package.md §6.4) -------------------------
    def share(self, grant_file: Path, output: str | Path) -> ShareSummary:
        """Build the share package of a verified grant (role platform): only the granted fields
        of the granted subjects' records, wrapped to the querent. One grant, one share."""
        self.require("share")
        vault = self.unlocked_vault()
        return vault.share(
            grant_file,
            output,
            platform=self.platform_identity(),
            keyring=self.keyring,
            policy=self.policy,
            session=self.session,
            now=self.now(),
        )

    def release(self, package: Path, output: str | Path) -> ReleaseSummary:
        """Hand a querent the release secrets of a share it is about to open (role platform)."""
        self.require("release")
        vault = self.unlocked_vault()
        return vault.release(
            package,
            output,
            platform=self.platform_identity(),
            keyring=self.keyring,
            session=self.session,
            now=self.now(),
        )
