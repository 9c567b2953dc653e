"""The English messages the catalogue translates besides the help texts (docs/i18n.md).

Errors, hints, summaries and reject reasons are English in the library (language-neutral,
each error with a stable code); the command line translates them when it renders them
(:func:`xinan.i18n.translate`). A message with data in it is listed here as a *template*:
``{name}`` stands for a value (a file, a row, a count, an id) that is kept as it is. The
extraction (``scripts/i18n.py extract``) puts every entry in the catalogue's template.

Each entry: (English text, where it comes from — a note for translators).
"""

from __future__ import annotations

MESSAGES: tuple[tuple[str, str], ...] = (
    # -- the command line's own words (xinan/cli/render.py) --
    ("error", "the word after `xinan:` on an error line"),
    ("hint", "the word after `xinan:` on a hint line"),
    ("Usage: ", "click's usage line"),
    ("Options", "help section"),
    ("Commands", "help section"),
    ("default", "an option's default, in help: [default: x]"),
    ("required", "a required option, in help"),
    ("env var", "an option's environment variable, in help"),
    ("Examples:", "help: the heading of the examples"),
    ("Exit codes:", "help: the heading of the exit codes"),
    ("see `{command} --help`", "hint after a usage error"),
    ("interrupted", "Ctrl-C"),
    ("internal error ({kind})", "a bug"),
    ("rerun with --verbose and report it (see SECURITY.md)", "hint after a bug"),
    ("check the path, that its folder exists, and permissions", "hint after an OS error"),
    # -- click's usage errors (their English text, as click formats it) --
    ("No such option '{name}'.", "click"),
    ("No such option '{name}'. Did you mean '{other}'?", "click"),
    ("No such option '{name}'.\nDid you mean '{other}'?", "click"),
    ("No such command '{name}'.", "click"),
    ("Missing argument '{name}'.", "click"),
    ("Missing option '{name}'.", "click"),
    ("Missing parameter '{name}'.", "click"),
    ("Got unexpected extra argument ({args})", "click"),
    ("Got unexpected extra arguments ({args})", "click"),
    ("Invalid value for '{param}': {message}", "click"),
    ("Option '{name}' requires an argument.", "click"),
    ("Option '{name}' does not take a value.", "click"),
    ("'{value}' is not one of {choices}.", "click: a choice"),
    ("'{value}' is not a valid integer.", "click"),
    ("'{value}' is not a valid float.", "click"),
    ("File '{name}' does not exist.", "click: a path that must exist"),
    ("Path '{name}' does not exist.", "click: a path that must exist"),
    ("Directory '{name}' is a file.", "click"),
    ("File '{name}' is a directory.", "click"),
    ("expected YYYY-MM-DD", "--today"),
    ("Show this message and exit.", "click: --help"),
    ("Show the version and exit.", "click: --version"),
    # -- places in an input (xinan.errors.Location) --
    ("{file}, row {row}, column '{column}': {message}", "an input error with its place"),
    ("{file}, row {row}: {message}", "an input error with its place"),
    ("{file}: {message}", "an input error naming its file"),
    ("<stdin>", "standard input, where a file name would be"),
    # -- input files (xinan/records) --
    ("file is empty", "records"),
    (
        "the file has no header row and no records; check that the export finished and that "
        "this is the right file",
        "records",
    ),
    ("no such file", "records"),
    ("check the path", "records"),
    ("is a directory, not a file", "records"),
    ("name a file", "records"),
    ("cannot be opened ({why})", "records"),
    ("check the path and permissions", "records"),
    ("file is UTF-16 (Excel's 'Unicode text'), which is not supported", "records"),
    ("save it as 'CSV UTF-8' (or GB18030) and try again", "records"),
    ("looks like an Excel workbook (.xlsx), not a text file", "records"),
    ("name it with the .xlsx extension, or choose the xlsx format", "records"),
    ("looks like a legacy Excel .xls workbook, which is not supported", "records"),
    ("open it in Excel or WPS and save it as .xlsx or as CSV UTF-8", "records"),
    ("not a readable .xlsx workbook", "records"),
    ("open it in Excel or WPS and save it again as .xlsx, or export CSV UTF-8", "records"),
    ("header column {position} has an empty name", "records"),
    ("header column {position} repeats the name of column {other}", "records"),
    ("a value cannot be written in {encoding}", "records: writing"),
    ("write UTF-8 (or GB18030, which covers all of Unicode) instead", "records: writing"),
    ("cannot write encoding '{encoding}'", "records: writing"),
    ("use one of: {names}", "a list of allowed values"),
    # -- options and keys (xinan/cli/_common.py, xinan/keys.py) --
    ("unknown audience '{name}'", "--audience"),
    ("known: {names}", "hint: the allowed values"),
    ("no audience given", "--audience"),
    ("one of: {names}", "hint: the allowed values"),
    ("unknown record kind '{name}'", "--kind"),
    ("several audiences need an output name containing {audience}", "mask -o"),
    ("e.g. -o 'out-{audience}.csv'", "mask -o"),
    ("no passphrase for {what}", "a passphrase prompt left empty"),
    ("type it at the prompt, or set XINAN_PASSPHRASE", "hint"),
    ("Passphrase for {what}", "a passphrase prompt"),
    ("try again ({left} left)", "after a mistyped passphrase"),
    ("wrong passphrase for {what}", "a passphrase that does not unlock the key"),
    ("empty passphrase", "keys"),
    ("choose a passphrase (or set XINAN_PASSPHRASE)", "keys"),
    ("not a date/time: '{value}'", "a date option"),
    ("use ISO 8601, e.g. 2026-01-31T12:00:00+08:00", "a date option"),
    ("not a date: '{value}'", "a date option"),
    ("use YYYY-MM-DD or 2027年6月30日", "a date option"),
    # -- who acts, keys and the roster (xinan/access.py, xinan/keys.py, xinan/roster.py) --
    (
        "no acting identity: every operation on credit data, keys or grants is done as someone",
        "access",
    ),
    ("pass --as KEY_ID (or set XINAN_IDENTITY) naming a key in the keyring", "access"),
    ("{who} ({role}) may not {operation}; allowed: {roles}", "access: a role refused"),
    ("{who} is not in this keyring's roster", "access"),
    ("keyring {path} has no roster: no identity may act yet", "roster"),
    (
        "the system administrator bootstraps it once, after `xinan audit init`: "
        "xinan --as SYS_ADMIN_KEY keys bootstrap --token-dir DIR",
        "roster",
    ),
    ("no {what} '{ref}' in keyring {path}", "keys"),
    (
        "run `xinan keys list`; add others' keys with `xinan keys add FILE`; "
        "check --keyring / XINAN_KEYRING",
        "keys",
    ),
    ("{where}: cannot unlock key {id}: wrong passphrase, or the file was altered", "keys"),
    (
        "check the passphrase (prompt or XINAN_PASSPHRASE); if it is right, restore the key "
        "file from backup",
        "keys",
    ),
    ("a new key's passphrase needs at least {n} characters", "keys"),
    ("use a few unrelated words, e.g. from a diceware list", "keys"),
    ("invalid key id name '{name}'", "keys"),
    ("policy {policy} has no record kind '{name}'", "policy"),
    ("known kinds: {names}", "policy"),
    ("{log} is already an audit log", "audit init"),
    ("a log is bound to its key once; verify it with `xinan audit verify`", "audit init"),
    # -- summaries (text output of the commands) --
    (
        "wrote {count} {kind} records ({bad} deliberately bad) to {output} [{encoding}]",
        "fake",
    ),
    ("{file}: {rows} rows ({bad} unreadable), encoding {encoding}, kind {kind}", "scan"),
    ("(no match)", "scan: no record kind matched"),
    ("{file}: kind {kind}, encoding {encoding}", "mask"),
    (
        "{audience}: read {read}, written {written}, withheld {withheld}, rejected {rejected} "
        "→ {output}",
        "mask",
    ),
    (
        "{audience}: read {read}, written {written}, withheld {withheld}, rejected {rejected} "
        "→ {output} ({extra})",
        "mask",
    ),
    ("{n} identifiers scrubbed from free text", "mask"),
    ("{n} caught by the guard", "mask"),
    ("rejects: {file}", "mask"),
    ("(not written; pass --rejects FILE)", "mask"),
    ("{package}: package {id} ({suite}), kind {kind}", "seal"),
    ("read {read}, sealed {sealed}, rejected {rejected}", "seal"),
    ("read {read}, sealed {sealed}, rejected {rejected} → {file}", "seal"),
    ("recipients: {names}", "seal"),
    (
        "view {audience}: written {written}, withheld {withheld}, rejected {rejected} → {output}",
        "seal",
    ),
    ("ok: {package}: package {id} ({audience}, {suite})", "verify"),
    ("sender {id} ({role}) {fingerprint}", "verify"),
    ("{count} records of kind {kind}, policy {policy}", "verify"),
    ("{package}: opened {count} records of {id} → {output}", "open"),
    (
        "{package}: opened {count} records of share {id} (grant {grant}: {fields}) → {output}",
        "open",
    ),
    (
        "vault {id} at {path}: policy {policy}, platform {platform} {key}, pseudonyms {ps}",
        "vault init",
    ),
    ("{package}: package {id} already ingested; nothing changed", "vault ingest"),
    (
        "{package}: ingested {n} {kind} records from {sender} (package {id}); {classes}; "
        "{subjects} subjects",
        "vault ingest",
    ),
    (
        "consent {id}: {querent} may ask for {fields} of {subject} for {purpose} until {until}",
        "consent add",
    ),
    ("consent {id} revoked", "consent revoke"),
    (
        "grant {id} → {output}: {querent} may receive {fields} of {n} subject(s) until {until}",
        "grant issue",
    ),
    ("grant {id} revoked; revocation list edition {n} → {path}", "grant revoke"),
    ("revocation list edition {n} → {path}", "grant refresh"),
    (
        "share {id} → {output}: {n} records for {querent}; sealed {sealed}; clear {clear}",
        "share",
    ),
    (
        "release per-record: the querent opens it with a release file (`xinan release`)",
        "share",
    ),
    (
        "release {id} → {output}: secrets of {n} record(s) of share {share} for {querent}; "
        "{withheld} withheld (destroyed or no longer releasable)",
        "release",
    ),
    (
        "{n} record(s) withheld by the platform (destroyed or no longer releasable), not written",
        "open",
    ),
    # -- progress (xinan/cli/progress.py; the passes named by xinan/progress.py's callers) --
    ("records", "progress: the unit counted"),
    ("records verified", "progress: a package's records checked (signature, digests)"),
    ("records checked", "progress: a package's records checked and opened for the vault"),
    ("records opened", "progress: a package's sealed values opened"),
    ("records stored", "progress: records written into the vault"),
    ("records written", "progress: records written to the output file"),
    ("records read", "progress: records read from a file or the vault"),
    ("records shared", "progress: records put in a share package"),
    # -- `-` refused, with the reason (xinan/cli/_stdio.py NotStdin) --
    (
        "an audit log is read with the files beside it (its checkpoints, configuration and "
        "signer), which standard input cannot carry",
        "`-` for an audit log",
    ),
    ("a working directory's config names files relative to its own folder", "`--config -`"),
    ("[{n}] {title}", "demo: a step's number and title"),
    # -- the demo's next steps (xinan/demo.py NEXT_WHY) --
    ("the records the platform keeps (sealed values stay sealed)", "demo: next command"),
    ("the grants issued, as the security administrator", "demo: next command"),
    ("check the platform's signed audit log, entry by entry", "demo: next command"),
    # -- the rejects file's reasons (xinan/engine/validate.py, xinan/records) --
    ("required but empty", "a reject reason"),
    ("unknown subject class", "a reject reason"),
    ("NUL byte", "a reject reason"),
    ("field longer than {n} characters", "a reject reason"),
    # the heads of reasons, as summaries count them (xinan.engine.batch.reason_key)
    ("not a valid resident ID", "a reject reason's head"),
    ("not one of the allowed values", "a reject reason's head"),
    ("not a valid unified social credit code", "a reject reason's head"),
    ("not a valid document number", "a reject reason's head"),
    ("not a person's name", "a reject reason's head"),
    ("not a valid bank card number", "a reject reason's head"),
    ("not a valid code", "a reject reason's head"),
    ("not a valid phone number", "a reject reason's head"),
    ("not a date", "a reject reason's head"),
    ("not a valid document number (5–32 letters or digits)", "a reject reason"),
)
