"""Wire formats exchanged between the parties, one module per spec in ``docs/``.

* :mod:`xinan.formats.package` — ``xinan-package/1`` (docs/package.md);
* :mod:`xinan.formats.release` — ``xinan-release/1`` (docs/package.md §6.4);
* :mod:`xinan.formats.grant` — ``xinan-grant+jwt`` and ``xinan-revocations/1`` (docs/grant.md).

The audit log's formats (entries, signed notes, checkpoints, proofs) live with the log in
:mod:`xinan.audit`; key files in :mod:`xinan.keys`.
"""
