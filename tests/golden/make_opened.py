"""Write the opened-data provenance sidecar golden file (docs/provenance.md, xinan-opened/1):
``opened.csv.grant.json`` as ``xinan open`` writes it beside the golden share opened under the
golden grant and release (tests/golden/share, tests/golden/grant), at a fixed clock. xinan has
no reader of this file (it is informative, for people inside the querent), so the golden checks
the writer only, byte for byte, and has no negative cases. Rerun only after a deliberate format
change:

    .venv/bin/python tests/golden/make_opened.py
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent / "opened"
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.make_grant import NOW as GRANT_NOW  # noqa: E402
from xinan.formats import grant as G  # noqa: E402
from xinan.formats import package as P  # noqa: E402
from xinan.keys import Keyring  # noqa: E402
from xinan.querent.open_share import ShareOpenResult  # noqa: E402
from xinan.querent.provenance import write_provenance  # noqa: E402

OPENED_AT = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)


def result() -> ShareOpenResult:
    ring = Keyring(HERE.parent / "grant" / "keys", compliance_mode="any")
    plat = ring.get_public("platform")
    share = (HERE.parent / "share" / "share.xpkg").read_bytes()
    info = P.verify_package(io.BytesIO(share), trust={plat.key_id: plat}.get)
    token = G.read_grant(HERE.parent / "grant" / "grant.jwt")
    claims = G.verify_grant(token, trust=ring, now=GRANT_NOW + timedelta(minutes=1))
    release = json.loads((HERE.parent / "share" / "release.json").read_bytes())
    return ShareOpenResult(
        info=info,
        claims=claims,
        written=2,
        columns=("record_id", "行政相对人名称", "联系电话"),
        withheld=1,
        withheld_ids=("R-GOLDEN-0001",),
        release_id=release["id"],
    )


def main() -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / "opened.csv.grant.json").unlink(missing_ok=True)
    write_provenance(result(), HERE / "opened.csv", opened_at=OPENED_AT)


if __name__ == "__main__":
    main()
