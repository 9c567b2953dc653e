"""The language of what xinan says to people: a zh-CN gettext catalogue, English as the source.

What this module owns: choosing the language (``--lang zh|en``, else ``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, as GNU gettext orders them; English when none names Chinese), the
catalogue (``xinan/i18n/locale/zh_CN/LC_MESSAGES/xinan.po``, compiled with Babel to the
``.mo`` beside it; ``tests/i18n/test_i18n.py`` keeps the two in step), and translating a message
at *render* time. The library raises language-neutral errors (English text, a stable
``code``) and never translates; the command line renders them here (docs/i18n.md).

Two kinds of entries in the catalogue:

* plain messages (help texts, table headings, summaries): looked up as they are;
* templates with ``{name}`` fields (error messages, reject reasons): a message that matches a
  template's English text is translated field by field, the fields' values kept as they were
  (a file name, a row number, a column name are data, never translated).

What it does not own: the reports' own languages (``xinan/reports``, their ``--lang``) and
machine output (``--json``, wire formats, audit entries), which stay the same in every language.
"""

from __future__ import annotations

import gettext
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "xinan"
LANGUAGES = ("zh", "en")
_CATALOGUE_LOCALE = {"zh": "zh_CN"}

_language: ContextVar[str] = ContextVar("xinan_language", default="en")


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` or ``en`` from the locale variables, in GNU gettext's order: ``LANGUAGE`` (a
    colon-separated list, its first entry), ``LC_ALL``, ``LC_MESSAGES``, ``LANG``. The first
    variable that is set and not empty decides; ``C``/``POSIX`` and anything not Chinese mean
    English."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "").strip()
        if not value:
            continue
        first = value.split(":")[0].strip().lower()
        return "zh" if first.startswith("zh") else "en"
    return "en"


def resolve_language(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang`` when given (``zh``/``en``; ``zh_CN``, ``zh-CN``, ``cn`` and ``en_US`` read
    the same), else the locale variables."""
    if flag:
        value = flag.strip().lower()
        if value.startswith(("zh", "cn")):
            return "zh"
        if value.startswith(("en", "c", "posix")):
            return "en"
    return language_from_environment(environ)


def current_language() -> str:
    return _language.get()


def set_language(lang: str) -> None:
    """Make ``lang`` the language of this context (the CLI calls it once per command)."""
    _language.set(lang if lang in LANGUAGES else "en")


@contextmanager
def using_language(lang: str) -> Iterator[None]:
    """The messages rendered inside the block are in ``lang``; the previous language after."""
    token = _language.set(lang if lang in LANGUAGES else "en")
    try:
        yield
    finally:
        _language.reset(token)


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    locale = _CATALOGUE_LOCALE.get(lang)
    if locale is None:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale], fallback=True)


def gettext_(message: str, lang: str | None = None) -> str:
    """``message`` in the current language (or ``lang``); the message itself when the
    catalogue has no translation."""
    if not message:
        return message
    return _translations(lang or _language.get()).gettext(message)


_ = gettext_

# A template field: ``{name}``; the value it matched is kept as it is.
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@cache
def _templates(lang: str) -> tuple[tuple[re.Pattern[str], str, bool], ...]:
    """The catalogue's templates (msgids with ``{name}`` fields) as regular expressions over
    the English text, paired with their translation and whether their fixed text has words;
    the most specific (most fixed text) first."""
    catalog = getattr(_translations(lang), "_catalog", {})
    out: list[tuple[int, re.Pattern[str], str, bool]] = []
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or not msgid or "{" not in msgid or not msgstr:
            continue
        fields = _FIELD.findall(msgid)
        if not fields or len(set(fields)) != len(fields):
            continue
        pattern = ""
        pos = 0
        for m in _FIELD.finditer(msgid):
            pattern += re.escape(msgid[pos : m.start()]) + f"(?P<{m.group(1)}>.+?)"
            pos = m.end()
        pattern += re.escape(msgid[pos:])
        fixed = _FIELD.sub("", msgid)
        wordy = any(c.isalnum() for c in fixed)
        out.append((len(fixed), re.compile(pattern + r"\Z", re.DOTALL), msgstr, wordy))
    out.sort(key=lambda t: -t[0])
    return tuple((p, s, w) for _, p, s, w in out)


def translate(message: str, lang: str | None = None) -> str:
    """Render a language-neutral (English) message in the current language: a plain entry
    when the catalogue has one, else the first template it matches (fields kept as they
    were, each field's value translated in turn when it is itself a catalogue entry), else
    the message unchanged. Several lines are translated line by line."""
    lang = lang or _language.get()
    if lang == "en" or not message:
        return message
    if "\n" in message:
        return "\n".join(translate(line, lang) for line in message.split("\n"))
    indent = message[: len(message) - len(message.lstrip(" "))]
    body = message[len(indent) :]
    plain = gettext_(body, lang)
    if plain != body:
        return indent + plain
    for pattern, msgstr, wordy in _templates(lang):
        m = pattern.match(body)
        if m is None:
            continue
        found = m.groupdict()
        values = {k: _translate_value(k, v, lang) for k, v in found.items()}
        if not wordy and values == found:
            # a template of fields and punctuation only (``{file}: {message}``) applies
            # only when what it wraps is itself a message of the catalogue
            continue
        try:
            out = indent + msgstr.format(**values)
        except (KeyError, IndexError, ValueError):
            continue  # a translation that names a field its msgid lacks: not this one
        if any(_CLAUSE in v for k, v in found.items() if k not in _NESTED):
            # a data field that swallowed a clause ("e.csv, row 7: file" for "{what} is
            # empty"): a short template matched a longer message; another must parse it,
            # else the message stays English, whole
            continue
        return out
    return message


# Fields that hold a message of their own (``{file}: {message}``), translated in turn; every
# other field is data (a file, a name, a count, an id) and kept exactly as it was.
_NESTED = frozenset({"message", "extra", "why", "title"})
# A clause boundary inside a field's value: data (a file, an id, a count) rarely holds one.
_CLAUSE = ": "


def _translate_value(name: str, value: str, lang: str) -> str:
    return translate(value, lang) if name in _NESTED else value


def ngettext_(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    return _translations(lang or _language.get()).ngettext(singular, plural, n)
