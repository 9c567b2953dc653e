"""The PDF of a report page, with its Chinese glyphs embedded (docs/adr/0006-reports.md).

Owns turning a rendered page into PDF bytes with WeasyPrint: the same HTML, so the same
numbers; fonts found by fontconfig (Debian: ``fonts-noto-cjk``) and embedded as subsets, so
the reader's viewer needs no font of its own. Fails closed: when any character of the page has
no glyph in the fonts used (it would print as a box), no PDF is made.

Nothing is fetched: the page is self-contained, and WeasyPrint's URL fetcher is replaced by
one that refuses every URL.
"""

from __future__ import annotations

from typing import Any, NoReturn

from xinan.errors import PdfError

__all__ = ["PdfError", "html_to_pdf"]


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of ``html``; raises :class:`PdfError` rather than print a box for a glyph."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError, URLFetcher
    except (ImportError, OSError) as exc:  # OSError: Pango missing on the machine
        raise PdfError(
            f"cannot make PDF files here: {exc}",
            hint="install WeasyPrint's system libraries (Debian: apt-get install -y "
            "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk); the HTML report needs none",
        ) from None

    class _Refuse(URLFetcher):  # type: ignore[misc]  # untyped base
        """Fetches nothing: a report page is self-contained (docs/report.md §2)."""

        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            raise PdfError(f"a report page may not fetch anything (asked for {url[:80]!r})")

    try:
        document = HTML(string=html, url_fetcher=_Refuse(fail_on_errors=True)).render()
    except FatalURLFetchingError as exc:
        raise PdfError(f"the page asks for an outside resource: {exc}") from None
    data: bytes = document.write_pdf()
    missing: set[int] = set()
    for font in document.fonts.values():
        missing.update(getattr(font, "missing", {}) or {})
    if missing:
        shown = "".join(chr(c) for c in sorted(missing)[:10])
        raise PdfError(
            f"no installed font has a glyph for {len(missing)} character(s) of the report "
            f"({shown!r}): the PDF would show boxes",
            hint="install a CJK font (Debian: apt-get install -y fonts-noto-cjk)",
        )
    return data
