"""A usage import killed with SIGKILL at random instants loses nothing and counts nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.test_usage import metered_ws, usage_entries
from tests.conftest import run_cli_process

RECORDS = 60_000


def big_file(path: Path) -> Decimal:
    """A usage file of RECORDS api_calls records; the total quantity it holds."""
    total = Decimal(0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("client,metric,quantity,date,id\n")
        for i in range(RECORDS):
            quantity = Decimal(f"{i % 97}.{i % 10}")
            total += quantity
            fh.write(f"meter,api_calls,{quantity},2026-10-{i % 28 + 1:02d},evt-{i:06d}\n")
    return total


@pytest.mark.parametrize("seed", range(3))
def test_sigkill_during_import_then_reimport_records_each_record_once(tmp_path: Path, seed: int) -> None:
    ws = metered_ws(tmp_path)
    source = tmp_path / "usage.csv"
    total = big_file(source)
    rng = random.Random(seed)
    # Small commits, so kills land between commits as well as inside one.
    env = {**os.environ, "FACTURIER_USAGE_COMMIT": "7000"}
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), "usage", "import",
                                 str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        time.sleep(rng.uniform(0.4, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = run_cli_process(ws, "usage", "import", str(source))
    assert r.code == 0, r.text
    ids = [row[0] for row in usage_entries(ws)]
    assert len(ids) == len(set(ids)) == RECORDS  # every record journalled, none twice
    listing = run_cli_process(ws, "usage", "list", "--client", "meter", "--json")
    assert listing.code == 0, listing.text
    # Entries of thousands of records are longer than any other line: the checkpoint written
    # after them is still found to match the journal, never rebuilt from it.
    assert "note:" not in listing.err, listing.err
    import json

    rows = json.loads(listing.out)["rows"]
    assert [(r["metric"], r["records"], Decimal(r["sum"])) for r in rows] == [("api_calls", RECORDS, total)]
    again = run_cli_process(ws, "usage", "import", str(source))
    assert f"0 record(s) recorded, {RECORDS} duplicate(s) ignored" in again.out
    assert run_cli_process(ws, "verify").code == 0
    # The state rebuilt from the journal alone agrees.
    assert run_cli_process(ws, "rebuild").code == 0
    rebuilt = json.loads(run_cli_process(ws, "usage", "list", "--json").out)["rows"]
    assert rebuilt == rows
