"""Property: any generated CSV (mostly malformed) is accepted whole or rejected whole, file preserved."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from facturier.config import load_workspace
from facturier.ops.batch.plan import process_batches
from tests.conftest import copy_demo, journal, run_cli

BID = "boulangerie-martin"
COLUMN_NAMES = ["reference", "date", "customer_name", "customer_address", "description", "unit_price",
                "quantity", "vat_rate", "customer_email", "colour"]
VALUES = ["R-1", "R-2", "2026-11-02", "2026-13-01", "Café \"du\" Parc", "1 rue A | 69001 Lyon", "a\nb",
          "1.50", "-2", "1,5", "abc", "20", "7", "x@y.fr", "", " ", "é", ";", ","]


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A header (usually the required columns, sometimes more or fewer) and a few rows of mixed values."""
    cols = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=8))
    if draw(st.booleans()):
        cols = ["reference", "customer_name", "customer_address", "description", "unit_price"] + cols[:2]
    delim = draw(st.sampled_from([",", ";"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))

    def cell(value: str) -> str:
        if any(c in value for c in ',;"\n') or draw(st.booleans()):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delim.join(cols)]
    if draw(st.booleans()):  # half the time a clean file with valid values, to exercise acceptance
        cols = ["reference", "customer_name", "customer_address", "description", "unit_price"]
        lines = [delim.join(cols)]
        for i in range(draw(st.integers(1, 4))):
            name = draw(st.sampled_from(["Café \"du\" Parc", "é;,", "Zoë"]))
            # A line break is valid only inside an address (a name stays on one line).
            address = draw(st.sampled_from(["1 rue A | 69001 Lyon", "1 rue A\n69001 Lyon"]))
            price = draw(st.sampled_from(["1.50", "0", "12"]))
            lines.append(delim.join(cell(v) for v in [f"R-{i}", name, address, "Pain", price]))
        return (newline.join(lines) + newline).encode("utf-8")
    for i in range(draw(st.integers(0, 4))):
        width = len(cols) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        values = [draw(st.sampled_from(VALUES)) for _ in range(max(width, 0))]
        if values and cols[0] == "reference":
            values[0] = f"R-{i}" if draw(st.booleans()) else values[0]
        lines.append(delim.join(cell(v) for v in values))
    text = newline.join(lines) + newline
    data = text.encode("utf-8")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.sampled_from([b"\xe9", b'"', b"", b"\xef\xbb\xbf"])) + data[cut:]
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=csv_files())
def test_accepted_whole_or_rejected_whole(content: bytes) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        ws = copy_demo(tmp / "ws")
        box = ws / "data" / "inbox_batch" / BID
        box.mkdir(parents=True)
        (box / "f.csv").write_bytes(content)
        report = process_batches(load_workspace(ws), date(2026, 11, 20))
        entries = journal(ws)
        docs = [e for e in entries if e["type"] == "invoice.issued"]
        event('rejected' if report.failed else 'accepted')
        if report.failed:
            assert not docs and [e["type"] for e in entries] == ["batch.rejected"]
            assert (box / "rejected" / "f.csv").read_bytes() == content
            assert (box / "rejected" / "f.csv.errors.txt").read_text(encoding="utf-8").strip()
        else:
            accepted = entries[0]
            assert accepted["type"] == "batch.accepted" and entries[-1]["type"] == "batch.completed"
            assert len(docs) == accepted["rows"] >= 1
            assert (ws / accepted["files"]["csv"]["path"]).read_bytes() == content
        assert not (box / "f.csv").exists()
    finally:
        shutil.rmtree(tmp)


def test_property_workspace_verifies(tmp_path: Path) -> None:
    """Sanity for the property's setup: an accepted generated-style file verifies."""
    ws = copy_demo(tmp_path / "ws")
    box = ws / "data" / "inbox_batch" / BID
    box.mkdir(parents=True)
    (box / "f.csv").write_bytes(b'reference;customer_name;customer_address;description;unit_price\r\n'
                                b'R-0;x;"a\nb";d;1,5\r\n')
    assert run_cli(ws, "batch", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "verify").code == 0
