"""(3) The querent as one object: open a share with its grant, as one identity.

:class:`Querent` is an :class:`~xinan.access.Actor`: the role is checked, and the ``open``
entry is durable before any plaintext is written (the checks themselves are
:mod:`xinan.querent.open_share`'s); beside the opened file, its provenance
(:mod:`xinan.querent.provenance`).
"""

from __future__ import annotations

from pathlib import Path

from xinan.access import Actor
from xinan.querent.open_share import ShareOpenResult, open_share_file
from xinan.querent.provenance import write_provenance


class Querent(Actor):
    def open_share(
        self,
        package: Path,
        output: str | Path,
        *,
        grant_token: str,
        release: bytes | None = None,
        revocations: bytes | None = None,
        workers: int | None = None,
        encoding: str = "utf-8",
    ) -> ShareOpenResult:
        """Verify the grant, the package against it and the release, log, then decrypt only
        the granted fields of the released records into ``output``."""
        self.require("open.share")
        now = self.clock()
        result = open_share_file(
            package,
            output,
            identity=self.identity,
            keyring=self.keyring,
            grant_token=grant_token,
            revocations=revocations,
            session=self.session,
            now=now,
            release=release,
            workers=workers,
            encoding=encoding,
        )
        # the opened file says on what authority it was obtained (docs/provenance.md)
        write_provenance(result, output, opened_at=now)
        return result
