"""(2) The platform (公共信用信息平台): verify and ingest submissions, keep records sealed in the
vault, disclose public views, record consents, issue grants and share granted fields, handle
objections and credit repair, and destroy data when its time is up.

* :mod:`xinan.platform.submissions` — verify a package, open a submission;
* :mod:`xinan.platform.vault` — the vault (docs/vault.md): records, consents, grants, shares;
* :mod:`xinan.platform.lifecycle` — public disclosure, objections (异议), credit repair;
* :mod:`xinan.platform.retention` — which records are due, and the destruction job;
* :mod:`xinan.platform.destruction` — crypto-shredding and destruction certificates.
"""
