"""Reports people look at: rendering the library's report models (docs/report.md).

The numbers come from the party that owns them — :mod:`xinan.auditor` (the audit report and
the subject's access report) and :mod:`xinan.provider` (the quality report); this package
only draws them: Jinja2 templates with autoescape on, inline SVG charts, Chinese or English,
self-contained HTML, the subject report's PDF, and the detached signature over a report file
(docs/adr/0006-reports.md says why these libraries).
"""
