"""``xinan init PARTY [DIR]``: a party's working directory (docs/config.md).

Parses, calls :func:`xinan.party_setup.init_party`, renders. The order of the set-up and
every guarantee (keys before the log, the logged bootstrap, logged trust imports) is the
library's.
"""

from __future__ import annotations

from pathlib import Path

import click

from xinan.cli._app import app, emit, json_option
from xinan.cli._common import policy_option, read_new_passphrase, read_passphrase, utc_now
from xinan.cli._stdio import InputPath
from xinan.config import PARTIES
from xinan.crypto import suite_names
from xinan.party_setup import default_keys, init_party, next_steps

__all__ = ["init_cmd"]


@app.command("init")
@click.argument("party", type=click.Choice(PARTIES))
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--id", "main_id", default=None, metavar="KEY_ID", help="The party's own key.")
@click.option(
    "--admin",
    default=None,
    metavar="KEY_ID",
    help="The first system administrator (default <id>-admin; the platform's: sys-admin).",
)
@click.option(
    "--pseudonym-key",
    "pseudonym",
    default=None,
    metavar="KEY_ID",
    help="Pseudonym key of a provider (<id>-ps) or the platform (subject-ps).",
)
@click.option("--suite", type=click.Choice(suite_names()), default="intl", show_default=True)
@click.option(
    "--trust",
    multiple=True,
    type=InputPath(),
    metavar="FILE.pub",
    help="A counterpart's public key, added after the log exists (logged); repeatable.",
)
@click.option(
    "--token-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the administrators' tokens go (default DIR/tokens; move them to a USB key).",
)
@policy_option
@json_option
def init_cmd(
    party: str,
    directory: Path,
    main_id: str | None,
    admin: str | None,
    pseudonym: str | None,
    suite: str,
    trust: tuple[Path, ...],
    token_dir: Path | None,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Set up a working directory for a provider, the platform, a querent or an auditor.

    Makes the party's keys (one role each; the platform's three administrators are three
    keys), its signed audit log, the roster's bootstrap (administrators get token files),
    the platform's vault, imports the counterparts' public keys (--trust, logged) and writes
    xinan.toml, which later commands run in DIR read: no --vault, --audit-log or --as needed
    for the party's own work. Passphrases: a prompt per key, or for scripts
    XINAN_PASSPHRASE_<ID> / --passin / XINAN_PASSPHRASE (docs/config.md).

    \b
    Examples:
      xinan init platform plat
      xinan init provider amr --id amr-zaozhuang --admin amr-admin --pseudonym-key amr-ps \\
            --trust plat/keys/public/platform.pub
      xinan init querent bank --id bank-a --trust plat/keys/public/platform.pub
      xinan init auditor aud --trust plat/keys/public/platform.pub --json
    """
    keys = default_keys(party, main_id, admin, pseudonym)
    setup = init_party(
        directory,
        keys,
        suite=suite,
        new_passphrase=read_new_passphrase,
        passphrase=read_passphrase,
        clock=utc_now,
        trust=trust,
        token_dir=token_dir,
        policy=policy_path,
    )
    steps = next_steps(setup)
    data = {
        "party": setup.party,
        "directory": str(setup.directory),
        "config": str(setup.config.path),
        "keys": [{"id": k.id, "role": k.role, "key_id": k.key_id} for k in setup.keys],
        "audit_log": str(setup.log),
        "origin": setup.log_origin,
        "roster": setup.roster_serial,
        "tokens": {k: str(v) for k, v in setup.tokens.items()},
        "trusted": [{"id": k.id, "role": k.role, "key_id": k.key_id} for k in setup.trusted],
        "vault": str(setup.vault) if setup.vault else None,
        "next": steps,
    }

    def text() -> str:
        lines = [f"{setup.party} set up in {setup.directory} ({setup.config.path.name})"]
        lines += [f"  key   {k.id:<16} {k.role:<11} {k.key_id}" for k in setup.keys]
        lines.append(f"  log   {setup.log} (roster {setup.roster_serial} anchored there)")
        if setup.vault:
            lines.append(f"  vault {setup.vault}")
        lines += [f"  trust {k.id:<16} {k.role:<11} {k.key_id}" for k in setup.trusted]
        lines.append(
            f"  tokens for {', '.join(sorted(setup.tokens))} in "
            f"{setup.config.tokens}: keep them apart from the keys (a USB key)"
        )
        lines.append("next:")
        lines += [f"  {s}" for s in steps]
        return "\n".join(lines)

    emit(as_json, data, text)
