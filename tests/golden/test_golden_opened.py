"""Golden file of the opened-data provenance sidecar (docs/provenance.md, xinan-opened/1),
written once by tests/golden/make_opened.py from the golden share, grant and release at a fixed
clock. xinan has no reader of this informative file, so the golden pins the writer: today's
``write_provenance`` must write the same bytes, with the version marker first."""

from __future__ import annotations

import json
from pathlib import Path

from tests.golden.make_opened import OPENED_AT, result
from xinan.querent.provenance import write_provenance

GOLDEN = Path(__file__).resolve().parent / "opened"


def test_opened_sidecar_written_again(tmp_path: Path) -> None:
    path = write_provenance(result(), tmp_path / "opened.csv", opened_at=OPENED_AT)
    assert path == tmp_path / "opened.csv.grant.json"
    assert path.read_bytes() == (GOLDEN / "opened.csv.grant.json").read_bytes()
    doc = json.loads(path.read_bytes())
    assert next(iter(doc)) == "format" and doc["format"] == "xinan-opened/1"
