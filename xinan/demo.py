"""``xinan demo``: the whole life cycle on synthetic data in a fresh directory, step by step.

This module owns the demo's script. Each step runs the real ``xinan`` commands in-process, as
the party that does it in a city's credit system, with each party's own keyring and signed
audit log — so the demo is also an end-to-end check of the product:

  provider (枣庄市市场监督管理局) → platform (公共信用信息平台) → querent (a bank) → auditor

It prints what each step did and where its files are. The keys' passphrase is random, made
for this run and never printed; the demo's keys are throwaway, so it is written, with the
rest of the demo's settings, to ``<dir>/env.sh`` (mode 0600) for exploring afterwards
(``source demo/env.sh``): each party's directory gets a ``xinan.toml`` (docs/config.md) and
the demo ends with three commands to try next.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from xinan.errors import (  # re-exported: the classes live in xinan.errors
    DemoStepFailed,
    UsageError,
)

Say = Callable[[str], None]

# Party → the keys it holds (name, role). One role per key: 三权分立 for the administrators.
PARTIES: dict[str, tuple[tuple[str, str], ...]] = {
    "provider": (
        ("amr-zaozhuang", "provider"),
        ("amr-admin", "sys-admin"),
        ("amr-ps", "pseudonym"),
    ),
    "platform": (
        ("platform", "platform"),
        ("sys-admin", "sys-admin"),
        ("sec-admin", "sec-admin"),
        ("audit-admin", "audit-admin"),
        ("subject-ps", "pseudonym"),
    ),
    "querent": (("bank-a", "querent"), ("bank-admin", "sys-admin")),
}
# Each party's first system administrator, who bootstraps its keyring's roster.
FIRST_ADMINS = {"provider": "amr-admin", "platform": "sys-admin", "querent": "bank-admin"}
# Registered names of the trusted institutions, as the platform records them (synthetic).
DISPLAY_NAMES = {"bank-a": "示例银行股份有限公司枣庄分行", "amr-zaozhuang": "示例市市场监督管理局"}
# The platform's log has a signer of its own, held by the logging service (None): no
# administrator's credential signs it (issue 12, docs/audit-log.md §12).
LOG_KEYS = {"provider": "amr-zaozhuang", "platform": None, "querent": "bank-a"}
# Who acts by default in each party's directory afterwards (xinan.toml).
ACTS_AS = {"provider": "amr-zaozhuang", "platform": "platform", "querent": "bank-a"}
# Who hands whose public key to whom (the trust stores).
TRUST = (
    ("platform", "platform", "provider"),
    ("platform", "platform", "querent"),
    ("provider", "amr-zaozhuang", "platform"),
    ("querent", "bank-a", "platform"),
)
GRANTED_FIELDS = ("证件号码", "罚款金额")


@dataclass
class DemoResult:
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Runner:
    """Runs ``xinan`` commands in-process as one party, and parses their --json output."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self, party: str, actor: str | None, *args: str, ok: tuple[int, ...] = (0,)
    ) -> Any:
        from xinan.cli import app

        argv = ["--keyring", str(self.root / party / "keys")]
        argv += ["--audit-log", str(self.root / party / "audit" / "audit.log")]
        if actor:
            argv += ["--as", actor]
        argv += list(args)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = app.main(argv, prog_name="xinan", standalone_mode=False) or 0
            except SystemExit as e:
                code = int(e.code or 0)
        if code not in ok:
            # command words only: an argument may be a subject's (synthetic) clear ID
            shown = " ".join(w if w.replace("-", "").isascii() and w.replace("-", "").isalpha()
                             else "…" for w in args[:3])  # fmt: skip
            raise DemoStepFailed(
                f"`xinan {shown} …` as {actor or party} exited {code}: "
                + (err.getvalue().strip() or out.getvalue().strip())[:400]
            )
        text = out.getvalue().strip()
        if "--json" in args and text:
            return json.loads(text)
        return text


def run_demo(
    directory: Path,
    *,
    records: int,
    today: date,
    seed: int = 2026,
    say: Say = print,
    passphrase: str | None = None,
    policy: Path | None = None,
) -> DemoResult:
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(
            f"{directory} is not empty",
            hint="the demo runs in a fresh directory: pass --dir with a new or empty path",
        )
    directory.mkdir(parents=True, exist_ok=True)
    result = DemoResult(directory)
    xinan = _Runner(directory)
    # Random and never shown unless a caller (a test that goes on to act as a party) passes one.
    passphrase = passphrase or secrets.token_urlsafe(24)
    environment = {
        "XINAN_PASSPHRASE": passphrase,
        "XINAN_TODAY": today.isoformat(),
        "XINAN_VAULT": str(directory / "platform" / "vault"),
        "XINAN_PSEUDONYM_KEY": "subject-ps",
        # the administrators' tokens (second factor), one <id>.token each, read without a prompt
        "XINAN_TOKEN_DIR": str(directory / "tokens"),
    }
    if policy is not None:  # every step reads this policy; the variable is restored after
        environment["XINAN_POLICY"] = str(policy.resolve())
    with (
        _env(environment),
        _cleared(
            "XINAN_IDENTITY",
            "XINAN_AUDIT_LOG",
            "XINAN_KEYRING",
            "XINAN_TOKEN",
            "XINAN_NEW_PASSPHRASE",
        ),
    ):
        _script(directory, xinan, result, records=records, seed=seed, say=say)
    return result


@contextlib.contextmanager
def _cleared(*names: str) -> Iterator[None]:
    old = {k: os.environ.pop(k) for k in names if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(old)


def _script(
    root: Path, xinan: _Runner, result: DemoResult, *, records: int, seed: int, say: Say
) -> None:
    n = 0

    def step(title: str) -> None:
        nonlocal n
        n += 1
        result.steps.append(title)
        say("")
        say(f"[{n}] {title}")  # the title in the run's language (xinan/i18n/messages.py)

    prov, plat, bank = root / "provider", root / "platform", root / "querent"
    for d in (prov, plat, bank):
        d.mkdir()

    step("keys: every party's key pair, encrypted at rest (Argon2id), and a pseudonym key")
    for party, keys in PARTIES.items():
        for name, role in keys:
            k = xinan(party, None, "keygen", "--id", name, "--role", role, "--json")
            say(f"    {party:<9} {name:<14} {role:<11} {k['key_id']}")
    for owner, name, to in TRUST:
        xinan(to, None, "keys", "add", str(root / owner / "keys" / "public" / f"{name}.pub"))
    say("    public keys exchanged: provider ⇄ platform ⇄ querent (each checks the key id)")

    step("audit: each party's own signed log (RFC 6962 Merkle tree, C2SP checkpoints)")
    for party, key in LOG_KEYS.items():
        a = xinan(party, None, "audit", "init", *(("--key", key) if key else ()), "--json")
        say(f"    {party:<9} {a['log']}  signed by {a['log_key']}  vkey {a['vkey'][:40]}…")
        result.files[f"{party}_audit_log"] = Path(a["log"])

    step("roster: each party's first sys-admin signs its roster; administrators get tokens")
    for party, admin in FIRST_ADMINS.items():
        r = xinan(party, admin, "keys", "bootstrap", "--json")
        say(f"    {party:<9} roster {r['serial']}: {len(r['members'])} keys, "
            f"tokens for {', '.join(sorted(r['tokens']))}")  # fmt: skip
    # the platform records the registered names of the institutions it trusts (reports show
    # them instead of key ids); synthetic names, like everything in the demo
    for key, name in DISPLAY_NAMES.items():
        xinan("platform", FIRST_ADMINS["platform"], "keys", "name", key, name)
    say("    the platform names the institutions it trusts: "
        + "、".join(DISPLAY_NAMES.values()))  # fmt: skip

    step("provider: a GB18030 export of administrative penalties (synthetic, some bad rows)")
    export = prov / "penalty-export.csv"
    amr = ("provider", "amr-zaozhuang")
    f = xinan(*amr, "fake", "penalty", "-n", str(records), "-o", str(export),
              "--encoding", "gb18030", "--bad-rate", "0.01", "--seed", str(seed),
              "--json")  # fmt: skip
    say(f"    {f['records']} records ({f['bad']} deliberately bad) → {export}")
    result.files["export"] = export

    step("provider: scan the export for identifiers")
    s = xinan(*amr, "scan", str(export), "--json")
    for c in s["columns"]:
        found = {
            **c["identifiers"],
            **{f"{k} in free text": v for k, v in c["in_free_text"].items()},
        }
        if found:
            say(f"    {c['column']}: " + ", ".join(f"{k} {v}" for k, v in found.items()))

    step("provider: validate and mask for every audience (public, gov_share, querent, …)")
    views = prov / "views"
    views.mkdir()
    m = xinan(*amr, "mask", str(export), "-o", str(views / "penalty-{audience}.csv"),
              "--audience", "all", "--rejects", str(prov / "rejects.csv"), "--json",
              "--pseudonym-key", "amr-ps", ok=(0, 3))  # fmt: skip
    for a, c in m["audiences"].items():
        say(f"    {a:<10} read {c['read']}, written {c['written']}, withheld {c['withheld']}, "
            f"rejected {c['rejected']} → {c['output']}")  # fmt: skip
        result.files[f"view:{a}"] = Path(c["output"])
    say(f"    rejects (row, column, reason) → {prov / 'rejects.csv'}")

    step("provider: the data-quality report before submission (the platform's KPIs)")
    reports = root / "reports"
    reports.mkdir()
    quality_html = reports / "质量报告.html"
    q = xinan(*amr, "report", "quality", str(export), "-o", str(quality_html), "--json")
    (reports / "质量报告.json").write_text(
        json.dumps(q, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    kpis = ", ".join(
        f"{k['kpi']} {'—' if k['value'] is None else format(k['value'], '.2%')}"
        f"{'' if k['pass'] else ' (below ' + format(k['threshold'], '.0%') + ')'}"
        for k in q["kpis"]
    )
    say(f"    read {q['counts']['read']}, valid {q['counts']['valid']}, rejected "
        f"{q['counts']['rejected']} (as mask counted); {kpis}")  # fmt: skip
    say(f"        → {quality_html}")
    result.files["quality_report"] = quality_html

    step("provider: seal for the platform (sensitive fields encrypted, whole package signed)")
    package = prov / "penalty.xpkg"
    p = xinan(*amr, "seal", str(export), "-o", str(package), "--to", "platform",
              "--rejects", str(prov / "seal-rejects.csv"), "--json", ok=(0, 3))  # fmt: skip
    say(
        f"    package {p['package_id']}: {p['sealed']} records sealed, "
        f"{p['rejected']} rejected → {package}"
    )
    result.files["package"] = package

    step("platform: verify the package, then keep it sealed in the vault")
    v = xinan("platform", "platform", "verify", str(package), "--json")
    say(
        f"    signed by {v['sender_id']} ({v['sender_role']}), {v['records']} records, "
        f"suite {v['suite']}"
    )
    xinan(
        "platform",
        "sys-admin",
        "vault",
        "init",
        "--platform",
        "platform",
        "--pseudonym-key",
        "subject-ps",
    )
    i = xinan("platform", "platform", "vault", "ingest", str(package), "--json")
    say(f"    vault {plat / 'vault'}: {i.get('ingested', i.get('records'))} records ingested; "
        "keys in a separate key store (keys.db)")  # fmt: skip
    # the platform key's signing half to the platform service: grants by the security
    # administrator then need no platform passphrase (issue 12, docs/vault.md §2.1)
    xinan("platform", "platform", "vault", "delegate-signing")

    step("platform: the 双公示 public view (no natural persons, inside disclosure windows)")
    public = plat / "public.csv"
    d = xinan(
        "platform",
        "platform",
        "vault",
        "disclose",
        "--audience",
        "public",
        "-o",
        str(public),
        "--json",
    )
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["counts"].items() if v)
    say(f"    as of {d['as_of']}: {counts} → {public}")
    result.files["public"] = public

    person = _a_natural_person(export)
    step("platform: the data subject's authorisation, and a grant for the bank (sec-admin)")
    c = xinan("platform", "platform", "consent", "add", "--subject", person, "--querent", "bank-a",
              "--purpose", "信易贷授信审查", "--fields", ",".join(GRANTED_FIELDS),
              "--valid-until", "2099-12-31", "--ref", "纸质授权书 SQ-0001", "--json")  # fmt: skip
    grant = plat / "bank-a.grant"
    xinan("platform", "sec-admin", "grant", "issue", "--querent", "bank-a",
          "--purpose", "信易贷授信审查", "--fields", ",".join(GRANTED_FIELDS),
          "--subject", person, "--consent", c["id"], "--ttl", "7d", "-o", str(grant),
          "--json")  # fmt: skip
    say(f"    consent {c['id']} for {c['subject']} (a keyed pseudonym); grant → {grant}")
    result.files["grant"] = grant

    step("platform: share exactly the granted fields with the bank, and release them")
    shared = plat / "bank-a.xpkg"
    sh = xinan("platform", "platform", "share", "--grant", str(grant), "-o", str(shared), "--json")
    release = plat / "bank-a.release"
    xinan("platform", "platform", "release", "--package", str(shared), "-o", str(release))
    say(
        f"    {sh.get('records', sh.get('count'))} record(s), "
        f"fields {', '.join(GRANTED_FIELDS)} → {shared}"
    )
    result.files["share"] = shared

    step("querent: the bank opens what it was granted, with its own key")
    opened = bank / "opened.csv"
    o = xinan("querent", "bank-a", "open", str(shared), "--grant", str(grant),
              "--release", str(release), "-o", str(opened), "--json")  # fmt: skip
    with opened.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    say(f"    {o.get('written')} record(s) opened, columns {', '.join(header)} → {opened}")
    result.files["opened"] = opened

    legal = _a_legal_record(xinan)
    step("platform: an objection (异议) flags a record at once, with a working-day deadline")
    dj = xinan("platform", "platform", "dispute", "open", legal, "--reason", "处罚已撤销，申请更正",
               "--by", "当事人", "--json")  # fmt: skip
    say(
        f"    objection {dj['id']} on {legal}: deadline {dj['deadline']} "
        "(working days, 2025–2026 calendar)"
    )
    xinan("platform", "platform", "dispute", "resolve", dj["id"], "--outcome", "removed", "--json")
    say("    resolved: removed — the record leaves every view and share")

    step("platform: credit repair (信用修复) of a record past its minimum disclosure period")
    repaired = _a_repairable_record(xinan)
    if repaired:
        ra = xinan("platform", "platform", "repair", "apply", repaired,
                   "--commitment", "信用承诺书 XY-01", "--obligations-met", "--json")  # fmt: skip
        xinan("platform", "sec-admin", "repair", "approve", ra["id"], "--json")
        arch = xinan("platform", "audit-admin", "vault", "archive", "--json")
        say(
            f"    repair {ra['id']} approved: {repaired} archived "
            f"(audit-admin sees {len(arch.get('records', arch))} archived)"
        )
    else:
        say("    no record of this run is past its minimum period yet")

    step("platform: destroy the removed record (crypto-shredding) with a signed certificate")
    cert = plat / "destruction-certificate.json"
    xinan("platform", "sec-admin", "destroy", "--yes", "--record", legal,
          "--reason", "异议核实后依法删除", "-o", str(cert), "--json")  # fmt: skip
    ver = xinan("platform", None, "destroy", "verify", str(cert), "--audit-log",
                str(plat / "audit" / "audit.log"), "--json")  # fmt: skip
    say(
        f"    keys shredded; certificate {ver.get('id', cert.name)} verifies against the log "
        f"→ {cert}"
    )
    result.files["certificate"] = cert

    step("data subject: who received my data, when, and why — a report signed by the platform")
    subject_html, subject_pdf = reports / "报告.html", reports / "报告.pdf"
    rep = xinan("platform", "platform", "report", "subject", person, "-o", str(subject_html),
                "--pdf", str(subject_pdf), "--json")  # fmt: skip
    from xinan.reports.render import beijing_time

    for e in rep["receipts"][:5]:
        fields = "、".join(e["fields"] or []) or "—"
        say(f"    {beijing_time(e['time'])} 北京时间  {e['institution'] or '本平台'}  "
            f"{e['action']}  {e['purpose']}  [{fields}]")  # fmt: skip
    for f in (subject_html, subject_pdf):
        v = xinan("querent", None, "report", "verify", str(f), "--json")
        say(f"    {f.name}: signed by {v['signer']['id']}; the bank checks it with the "
            "platform's public key")  # fmt: skip
        say(f"        → {f}  (signature {f.name}.sig)")
    result.files["subject_report"] = subject_html
    result.files["subject_report_pdf"] = subject_pdf

    step("auditor: verify every party's log offline, with nothing but public keys")
    for party in LOG_KEYS:
        a = xinan(party, None, "audit", "verify", "--json")
        say(f"    {party:<9} ok: {a['size']} entries, {a['checkpoints']} signed checkpoints")

    step("auditor: the audit report")
    audit_html = reports / "审计报告.html"
    ar = xinan("platform", "audit-admin", "report", "audit",
               str(plat / "audit" / "audit.log"), str(bank / "audit" / "audit.log"),
               "--certificate", str(cert), "-o", str(audit_html), "--json")  # fmt: skip
    (reports / "审计报告.json").write_text(
        json.dumps(ar, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    t = ar["totals"]
    say(f"    审计报告 (audit): {t['logs']} logs intact, {t['entries']} entries, "
        f"{t['certificates_ok']}/{t['certificates']} certificates check")  # fmt: skip
    say(f"        → {audit_html}")
    result.files["audit_report"] = audit_html

    env_file = _write_environment(root, ACTS_AS)
    result.files["env"] = env_file
    say_next_steps(root, env_file, say)


def say_next_steps(root: Path, env_file: Path, say: Say) -> None:
    """The demo's last lines: where its files are, and three commands to try next, each with
    what it shows (English here; the command line prints them in the run's language)."""
    say("")
    say(f"done: every file is under {root}")
    say("")
    say(f"next: `source {env_file}` (the demo's throwaway keys, as the platform), then try")
    for line in NEXT_COMMANDS:
        say(f"    {line}")
        say(f"        {NEXT_WHY[line]}")


# Three commands to try after `source demo/env.sh` (tests/cli/test_cli_provider.py::test_demo
# runs them).
NEXT_COMMANDS = (
    "xinan vault list --limit 5",
    "xinan --as sec-admin grant list",
    "xinan audit verify",
)
# What each shows, in English; the command line prints it in the run's language (the
# catalogue, xinan/i18n/messages.py), the commands themselves stay as typed.
NEXT_WHY = {
    "xinan vault list --limit 5": "the records the platform keeps (sealed values stay sealed)",
    "xinan --as sec-admin grant list": "the grants issued, as the security administrator",
    "xinan audit verify": "check the platform's signed audit log, entry by entry",
}
# The demo's parties and the working-directory config each gets (docs/config.md).
_CONFIG_PARTY = {"provider": "provider", "platform": "platform", "querent": "querent"}


def _write_environment(root: Path, identities: dict[str, str]) -> Path:
    """A ``xinan.toml`` in each party's directory, and ``<root>/env.sh``: the settings to
    explore the demo afterwards, as the platform. It holds the demo's passphrase — a secret
    of throwaway keys over synthetic data only — so it is written 0600."""
    from xinan.config import Config, write_config
    from xinan.fileio import write_text_atomic

    for party, identity in identities.items():
        d = root / party
        write_config(
            Config(
                path=d / "xinan.toml",
                party=_CONFIG_PARTY[party],
                keyring=d / "keys",
                audit_log=d / "audit" / "audit.log",
                identity=identity,
                vault=(d / "vault") if party == "platform" else None,
                pseudonym_key={"provider": "amr-ps", "platform": "subject-ps"}.get(party),
                tokens=root / "tokens",
            )
        )
    values = {
        "XINAN_CONFIG": str(root / "platform" / "xinan.toml"),
        "XINAN_TOKEN_DIR": str(root / "tokens"),
        "XINAN_TODAY": os.environ.get("XINAN_TODAY", ""),
        "XINAN_PASSPHRASE": os.environ.get("XINAN_PASSPHRASE", ""),
    }
    lines = [
        "# xinan demo: throwaway keys over synthetic data. Never use them for real data.",
        "# Load with: source "
        + str(root / "env.sh")
        + "  (then xinan acts as the demo's platform;",
        "# cd into provider/ or querent/ and unset XINAN_CONFIG to act as those parties).",
    ]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items() if v]
    # The `xinan` of this installation first on PATH: the next commands are typed in a new
    # shell, where the project's .venv is not active (issue 15 item 10).
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "xinan").exists():
        lines.append(f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
    path = root / "env.sh"
    write_text_atomic(path, "\n".join(lines) + "\n", secret=True)
    return path


def _a_natural_person(export: Path) -> str:
    with export.open(encoding="gb18030", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("行政相对人类别") == "自然人" and len(row.get("证件号码", "")) == 18:
                return row["证件号码"]
    raise DemoStepFailed("the synthetic export holds no natural person; use more --records")


def _vault_records(xinan: _Runner) -> list[dict[str, Any]]:
    out = xinan("platform", "platform", "vault", "list", "--json")
    return list(out["records"] if isinstance(out, dict) else out)


def _a_legal_record(xinan: _Runner) -> str:
    for r in _vault_records(xinan):
        if r.get("subject_class") == "legal":
            return str(r["record_id"])
    raise DemoStepFailed("no legal-person record in the vault")


def _a_repairable_record(xinan: _Runner) -> str | None:
    for r in _vault_records(xinan):
        facts = r.get("facts", {})
        if r.get("subject_class") == "legal" and facts.get("decision_date", "9999") < "2025-06-01":
            return str(r["record_id"])
    return None
