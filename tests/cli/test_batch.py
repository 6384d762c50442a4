"""`facturier batch` end to end on temporary workspaces with real CSV files."""

from __future__ import annotations

import email
import email.policy
import json
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.conftest import copy_demo, journal, pdf_text, run_cli, run_cli_process

BID = "boulangerie-martin"
HEADER = "reference,date,customer_name,customer_address,description,unit_price"
DATE = "2026-11-20"


def inbox(ws: Path) -> Path:
    path = ws / "data" / "inbox_batch" / BID
    path.mkdir(parents=True, exist_ok=True)
    return path


def drop(ws: Path, name: str, content: str | bytes) -> Path:
    path = inbox(ws) / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def rows_csv(refs: list[str], day: str = "2026-11-02") -> str:
    lines = [HEADER] + [f"{r},{day},Client {r},1 rue A | 69001 Lyon,Pain,{i + 1}.10" for i, r in enumerate(refs)]
    return "\n".join(lines) + "\n"


def issued(ws: Path) -> list[dict[str, object]]:
    return [e for e in journal(ws) if e["type"] == "invoice.issued"]


def test_demo_inbox_is_archived_then_issued_in_file_order(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    original = (inbox(ws) / "2026-11-orders.csv").read_bytes()
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    types = [e["type"] for e in journal(ws)]
    assert types == ["batch.accepted"] + ["invoice.issued"] * 5 + ["batch.completed"]
    accepted = journal(ws)[0]
    archive = ws / accepted["files"]["csv"]["path"]
    assert archive.read_bytes() == original and archive.name.endswith(f"_{accepted['sha256'][:12]}_2026-11-orders.csv")
    assert not (inbox(ws) / "2026-11-orders.csv").exists()
    docs = issued(ws)
    assert [d["number"] for d in docs] == [f"BM-2026-{i:05d}" for i in range(1, 6)]
    assert [d["reference"] for d in docs] == [f"BM-CMD-{i}" for i in range(1041, 1046)]
    assert all(d["seller"] == BID and d["client"] == BID and d["batch"] == accepted["sha256"] for d in docs)
    text = pdf_text(ws / docs[2]["files"]["pdf"]["path"])
    assert "Boulangerie Martin" in text and "Traiteur Dupont & Fils" in text and "8 rue Mercière" in text
    assert run_cli(ws, "verify").code == 0


def test_dry_run_writes_nothing_and_shows_the_table(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    r = run_cli(ws, "batch", "--date", DATE, "--dry-run")
    assert r.code == 0, r.text
    assert "BM-2026-00001" in r.out and "BM-2026-00005" in r.out and "Traiteur Dupont & Fils" in r.out
    assert not (ws / "data" / "journal.jsonl").exists() and (inbox(ws) / "2026-11-orders.csv").exists()


def test_template_prints_the_header(ws: Path) -> None:
    r = run_cli(ws, "batch", "--template")
    assert r.code == 0 and r.out.strip().startswith("reference,date,customer_name,customer_address")


def test_invalid_file_is_rejected_whole_with_every_problem(ws: Path) -> None:
    content = HEADER + "\nR-1,2026-11-02,A,x,d,1\nR-2,2026-13-02,B,x,d,-3\nR-3,2026-11-02,C\n"
    drop(ws, "bad.csv", content)
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1 and "bad.csv rejected" in r.err
    rejected = inbox(ws) / "rejected"
    assert (rejected / "bad.csv").read_text(encoding="utf-8") == content
    errors = (rejected / "bad.csv.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors == [
        "bad.csv:3:date: '2026-13-02' is not a valid date (no such day)",
        "bad.csv:3:unit_price: '-3' is negative: a unit price is 0 or more (refunds are credit notes)",
        "bad.csv:4:customer_address: the row has 3 fields but the header has 6 (a missing or extra ',')?",
    ][:2] + [errors[2]]
    assert errors[2].startswith("bad.csv:4:customer_address: the row has 3 fields")
    entries = journal(ws)
    assert [e["type"] for e in entries] == ["batch.rejected"] and entries[0]["problems"] == 3
    assert not issued(ws) and not (inbox(ws) / "bad.csv").exists()
    assert run_cli(ws, "verify").code == 0


def test_syntax_rfc_4180_refuses_rejects_the_file_whole(ws: Path) -> None:
    # A bare quote in a field, a signed zero and CR-only line ends: each named file:line:column.
    content = HEADER + '\nR-1,2026-11-02,A "B,x,d,1\nR-2,2026-11-02,C,x,d,-0.00\rR-3,2026-11-02,D,x,d,1\n'
    drop(ws, "mixed.csv", content)
    drop(ws, "mac.csv", HEADER + "\rR-9,2026-11-02,E,x,d,1\r")
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1 and "mixed.csv rejected" in r.err and "mac.csv rejected" in r.err, r.text
    rejected = inbox(ws) / "rejected"
    errors = (rejected / "mixed.csv.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors[0].startswith("mixed.csv:2:customer_name: a double quote inside a field that is not enclosed")
    assert errors[1].startswith("mixed.csv:3:-: the line ends with a lone carriage return (CR")
    assert errors[2].startswith("mixed.csv:3:unit_price: '-0.00' is negative")
    errors = (rejected / "mac.csv.errors.txt").read_text(encoding="utf-8").splitlines()
    assert errors[0].startswith("mac.csv:1:-: the line ends with a lone carriage return")
    assert not issued(ws) and (rejected / "mixed.csv").read_bytes() == content.encode()


def test_a_rejected_file_emails_the_operator(ws: Path) -> None:
    drop(ws, "bad.csv", HEADER + "\nR-1,2026-13-02,A,x,d,1\n")
    assert run_cli(ws, "batch", "--date", DATE).code == 1
    [eml] = list((ws / "data" / "outbox").glob("*.eml"))
    alert = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert alert["To"] == "billing@palks.example"
    assert "bad.csv" in alert.get_body(("plain",)).get_content()
    assert run_cli(ws, "batch", "--date", DATE, "--dry-run").code == 0  # nothing left: no new alert
    assert len(list((ws / "data" / "outbox").glob("*.eml"))) == 1


def test_latin1_file_is_rejected_with_a_clear_message(ws: Path) -> None:
    drop(ws, "latin.csv", rows_csv(["R-1"]).replace("Pain", "Pâtisserie").encode("latin-1"))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1
    errors = (inbox(ws) / "rejected" / "latin.csv.errors.txt").read_text(encoding="utf-8")
    assert errors.startswith("latin.csv:2:-: the file is not UTF-8")


def test_duplicate_file_and_reinvoiced_reference_are_rejected(ws: Path) -> None:
    drop(ws, "a.csv", rows_csv(["R-1", "R-2"]))
    assert run_cli(ws, "batch", "--date", DATE).code == 0
    drop(ws, "b.csv", rows_csv(["R-1", "R-2"]))  # same bytes: a duplicate
    drop(ws, "c.csv", rows_csv(["R-3", "R-2"]).replace("Pain", "Brioche"))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1
    rejected = inbox(ws) / "rejected"
    assert "duplicate file" in (rejected / "b.csv.errors.txt").read_text(encoding="utf-8")
    assert (rejected / "c.csv.errors.txt").read_text(encoding="utf-8") == (
        "c.csv:3:reference: 'R-2' is already invoiced (invoice BM-2026-00002)\n")
    assert len(issued(ws)) == 2


def test_real_world_csv_semicolon_bom_crlf_is_accepted(ws: Path) -> None:
    text = (
        "\ufeffreference;customer_name;customer_address;customer_siren;description;quantity;unit_price;vat_rate\r\n"
        'R-1;"Dupont; ""Père & Fils""";"8 rue Mercière\r\n69002 Lyon";823456785;"Pièce, montée";2;180,50;5,5\r\n'
        "R-2;Élodie Ñúñez;1 rue A | 75001 Paris;;Pain;1;2,10;20\r\n"
    )
    drop(ws, "excel.csv", text.encode("utf-8"))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    first, second = (json.loads((ws / d["files"]["json"]["path"]).read_text()) for d in issued(ws))
    assert first["buyer"]["name"] == 'Dupont; "Père & Fils"'
    assert first["buyer"]["address"] == ["8 rue Mercière", "69002 Lyon"]
    assert first["total_excl_vat"] == "361.00" and first["total_incl_vat"] == "380.86"
    assert first["recovery_indemnity"] is not None and second["recovery_indemnity"] is None  # business or not
    assert first["issue_date"] == DATE and first["due_date"] == "2026-12-05"  # payment_days = 15


def test_test_mode_client_gets_test_series_and_no_zip(ws: Path) -> None:
    toml = ws / "batch_clients" / f"{BID}.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "test"'), encoding="utf-8")
    drop(ws, "a.csv", rows_csv(["R-1"]))
    assert run_cli(ws, "batch", "--date", DATE).code == 0
    assert issued(ws)[0]["number"] == "TEST-BM-2026-00001" and issued(ws)[0]["mode"] == "test"
    assert not (ws / "downloads").exists()


def test_monthly_zip_is_deterministic_and_rebuilt(ws: Path) -> None:
    from facturier.ops.batch.monthly_zip import build_monthly_zip
    from facturier.ops.state_access import read_state

    drop(ws, "a.csv", rows_csv(["R-1", "R-2"]))
    assert run_cli(ws, "batch", "--date", DATE).code == 0
    zpath = ws / "downloads" / f"{BID}-2026-11.zip"
    first = zpath.read_bytes()
    assert build_monthly_zip(ws, read_state(ws), BID, "2026-11") == zpath and zpath.read_bytes() == first
    assert build_monthly_zip(ws, read_state(ws), BID, "2026-10") is None
    drop(ws, "b.csv", rows_csv(["R-3"], day="2026-11-05"))
    assert run_cli(ws, "batch", "--date", DATE).code == 0
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        manifest = zf.read("manifest.csv").decode().splitlines()
        pdf = zf.read("BM-2026-00003.pdf")
    assert names == ["manifest.csv"] + [f"BM-2026-0000{i}.pdf" for i in (1, 2, 3)]
    assert manifest[0] == "number,date,customer,total_incl_vat,sha256"
    import hashlib

    assert manifest[3] == f"BM-2026-00003,2026-11-05,Client R-3,1.16,{hashlib.sha256(pdf).hexdigest()}"


def test_dates_before_the_series_last_invoice_are_refused(ws: Path) -> None:
    drop(ws, "a.csv", rows_csv(["R-1"], day="2026-11-10"))
    assert run_cli(ws, "batch", "--date", DATE).code == 0
    drop(ws, "b.csv", rows_csv(["R-2"], day="2026-11-09"))
    assert run_cli(ws, "batch", "--date", DATE).code == 1
    errors = (inbox(ws) / "rejected" / "b.csv.errors.txt").read_text(encoding="utf-8")
    assert errors.startswith("b.csv:2:date: 2026-11-09 is before 2026-11-10")


def test_unknown_client_is_an_error(ws: Path) -> None:
    r = run_cli(ws, "batch", "--client", "nobody")
    assert r.code == 1 and "batch_clients/nobody.toml" in r.err


def spawn(ws: Path, *args: str) -> subprocess.Popen[str]:
    import os

    return subprocess.Popen(
        [sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "FACTURIER_COMMIT_GROUP": "4"},
    )


def test_killed_batch_resumes_with_nothing_twice_and_no_gap(ws: Path) -> None:
    n = 60
    drop(ws, "big.csv", rows_csv([f"R-{i:03d}" for i in range(n)]))
    rng = random.Random(3)
    for _ in range(4):
        proc = spawn(ws, "batch", "--date", DATE)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = run_cli_process(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    docs = issued(ws)
    assert sorted(d["series_seq"] for d in docs) == list(range(1, n + 1))
    assert sorted(d["reference"] for d in docs) == [f"R-{i:03d}" for i in range(n)]
    assert [d["reference"] for d in sorted(docs, key=lambda d: d["series_seq"])] == [f"R-{i:03d}" for i in range(n)]
    types = [e["type"] for e in journal(ws)]
    assert types.count("batch.accepted") == 1 and types.count("batch.completed") == 1
    assert not (inbox(ws) / "big.csv").exists()
    assert len(list((ws / "data" / "invoices_batch").rglob("*.pdf"))) == n
    v = run_cli_process(ws, "verify")
    assert v.code == 0, v.text


def test_a_batch_without_e_invoicing_does_not_load_the_transmit_module(tmp_path: Path) -> None:
    # Its import (the platform's adapter, requests: ~40 ms) is for sellers whose mode is on.
    ws = copy_demo(tmp_path / "ws")
    drop(ws, "orders.csv", rows_csv(["T1", "T2"]))
    probe = (
        "import sys\nfrom facturier.cli.app import main\n"
        f"sys.argv = ['facturier', '--workspace', {str(ws)!r}, 'batch', '--date', {DATE!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('transmit loaded:', 'facturier.ops.einvoicing.transmit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert len(issued(ws)) == 2 and "transmit loaded: False" in out.stdout
