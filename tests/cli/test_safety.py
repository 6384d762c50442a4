"""Issue 10, the file-system and injection items, through the real CLI.

One bad inbox file never stops the batch (item 2), links are never followed (3), files and
folders ignore the umask (13), names are escaped where printed (14), exports neutralise
formulas (10), HTML mail parts escape input (11), a journal entry missing its files is an
integrity error (17).
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import journal, run_cli, run_cli_process

BID = "boulangerie-martin"
HEADER = "reference,date,customer_name,customer_address,description,unit_price"
DATE = "2026-11-20"


def inbox(ws: Path) -> Path:
    path = ws / "data" / "inbox_batch" / BID
    path.mkdir(parents=True, exist_ok=True)
    return path


def rows_csv(refs: list[str], customer: str = "Client") -> str:
    lines = [HEADER] + [f"{r},2026-11-02,{customer} {r},1 rue A | 69001 Lyon,Pain,{i + 1}.10"
                        for i, r in enumerate(refs)]
    return "\n".join(lines) + "\n"


def of_type(ws: Path, type_: str) -> list[dict[str, Any]]:
    return [e for e in journal(ws) if e["type"] == type_]


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.text, result.text


# Item 2: one bad inbox file never stops the batch service -----------------------------------


def test_a_255_byte_file_name_is_archived_and_later_files_still_run(ws: Path) -> None:
    long_name = "x" * 251 + ".csv"
    (inbox(ws) / long_name).write_text(rows_csv(["R-1"]))
    (inbox(ws) / "z-next.csv").write_text(rows_csv(["R-2"]))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    accepted = of_type(ws, "batch.accepted")
    assert [a["name"] for a in accepted] == [long_name, "z-next.csv"]
    archived = ws / accepted[0]["files"]["csv"]["path"]
    assert len(archived.name.encode()) <= 255 and archived.name.endswith(".csv")
    assert len(of_type(ws, "invoice.issued")) == 2 and not any(inbox(ws).glob("*.csv"))
    assert run_cli(ws, "verify").code == 0


def test_a_255_byte_invalid_file_is_rejected_with_its_errors_file(ws: Path) -> None:
    long_name = "y" * 251 + ".csv"
    (inbox(ws) / long_name).write_text(HEADER + "\nR-1,2026-13-02,A,x,d,1\n")
    (inbox(ws) / "z-next.csv").write_text(rows_csv(["R-2"]))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1 and "rejected" in r.err
    no_traceback(r)
    [rejected] = of_type(ws, "batch.rejected")
    moved = ws / rejected["rejected"]
    assert moved.is_file() and moved.name.endswith(".csv") and len(moved.name.encode()) <= 255
    errors = Path(f"{moved}.errors.txt").read_text()
    assert "2026-13-02" in errors or "date" in errors
    assert [e["name"] for e in of_type(ws, "batch.completed")] == ["z-next.csv"]
    # The same long name again: a second, distinct rejected name that still fits.
    (inbox(ws) / long_name).write_text(HEADER + "\nR-3,2026-13-02,A,x,d,1\n")
    assert run_cli(ws, "batch", "--date", DATE).code == 1
    names = sorted(p.name for p in moved.parent.iterdir())
    assert len(names) == 4 and all(len(n.encode()) <= 255 for n in names)


def test_an_unreadable_file_is_rejected_and_the_others_proceed(ws: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    locked = inbox(ws) / "a-locked.csv"
    locked.write_text(rows_csv(["R-1"]))
    locked.chmod(0)
    (inbox(ws) / "b-next.csv").write_text(rows_csv(["R-2"]))
    r = run_cli_process(ws, "batch", "--date", DATE)
    assert r.code == 1 and "a-locked.csv rejected" in r.err and "Permission denied" in r.err
    no_traceback(r)
    assert [e["name"] for e in of_type(ws, "batch.completed")] == ["b-next.csv"]
    assert (inbox(ws) / "rejected" / "a-locked.csv").exists()


def test_read_errors_of_one_file_reject_it_but_a_full_disk_stops_the_run() -> None:
    import errno

    from facturier.ops.batch.process import InboxFileError, reading_inbox_file

    with pytest.raises(InboxFileError, match="cannot read the file: Permission denied"), reading_inbox_file():
        raise PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(OSError, match="No space"), reading_inbox_file():
        raise OSError(errno.ENOSPC, "No space left on device")


# Item 3: links -------------------------------------------------------------------------------


def test_a_link_in_the_inbox_is_rejected_never_read(ws: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-seller" / "orders.csv"
    other.parent.mkdir()
    other.write_text(rows_csv(["OTHER-1"]))
    (inbox(ws) / "x.csv").symlink_to(other)
    (inbox(ws) / "y.csv").write_text(rows_csv(["R-2"]))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1 and "symbolic link" in r.err
    no_traceback(r)
    assert [e["reference"] for e in of_type(ws, "invoice.issued")] == ["R-2"]
    [rejected] = of_type(ws, "batch.rejected")
    assert rejected["name"] == "x.csv" and rejected["sha256"] is None
    moved = ws / rejected["rejected"]
    assert moved.is_symlink() and os.readlink(moved) == str(other)  # the link itself was moved
    assert other.read_text() == rows_csv(["OTHER-1"])
    assert "symbolic link" in Path(f"{moved}.errors.txt").read_text()


def test_a_link_is_reported_by_the_dry_run_too(ws: Path, tmp_path: Path) -> None:
    other = tmp_path / "orders.csv"
    other.write_text(rows_csv(["OTHER-1"]))
    (inbox(ws) / "x.csv").symlink_to(other)
    r = run_cli(ws, "batch", "--date", DATE, "--dry-run")
    assert "x.csv would be rejected" in r.err and "symbolic link" in r.err and "OTHER-1" not in r.out
    no_traceback(r)


def test_a_fifo_in_the_inbox_is_rejected_without_hanging(ws: Path) -> None:
    os.mkfifo(inbox(ws) / "pipe.csv")
    (inbox(ws) / "z.csv").write_text(rows_csv(["R-2"]))
    r = run_cli_process(ws, "batch", "--date", DATE, timeout=60)
    assert r.code == 1 and "not a regular file" in r.err
    no_traceback(r)
    assert len(of_type(ws, "invoice.issued")) == 1


def test_a_lock_file_link_is_refused_by_verify_and_the_target_kept(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate me")
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / ".lock").symlink_to(target)
    r = run_cli(ws, "verify")
    assert r.code == 1 and "data/.lock is a symbolic link" in r.err
    no_traceback(r)
    assert target.read_text() == "do not truncate me"


# Item 13: permissions -------------------------------------------------------------------------


@pytest.fixture(params=[0o022, 0o000])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)  # inherited by the CLI subprocesses
    yield request.param
    os.umask(old)


def product_paths(ws: Path) -> list[Path]:
    """Everything the product wrote: data/ (but the inbox files the test dropped), exports/, downloads/."""
    found = []
    for top in ("data", "exports", "downloads"):
        for path in (ws / top).rglob("*") if (ws / top).exists() else []:
            rel = path.relative_to(ws).as_posix()
            if rel.startswith("data/inbox_batch") and not rel.endswith((".errors.txt", "/rejected")):
                continue
            found.append(path)
    return found


def test_every_file_is_0640_and_every_folder_0750_whatever_the_umask(ws: Path, umask: int) -> None:
    (ws / "data" / "inbox_batch" / BID).mkdir(parents=True)
    os.chmod(ws / "data", 0o750)  # made by the test, not the product
    for folder in (ws / "data" / "inbox_batch", ws / "data" / "inbox_batch" / BID):
        os.chmod(folder, 0o750)
    (inbox(ws) / "a.csv").write_text(rows_csv(["R-1"]))
    (inbox(ws) / "bad.csv").write_text(HEADER + "\nR-9,2026-13-02,A,x,d,1\n")
    assert run_cli_process(ws, "run", "--date", "2026-11-15").code == 0  # outbox .eml for acme
    assert run_cli_process(ws, "batch", "--date", DATE).code == 1  # a ZIP, a rejection, an alert .eml
    assert run_cli_process(ws, "pay", "acme", "10", "--date", "2026-11-18", "--ref", "R1").code == 0
    assert run_cli_process(ws, "export", "receipts", "--year", "2026").code == 0
    paths = product_paths(ws)
    kinds = {p.suffix for p in paths}
    assert {".jsonl", ".pdf", ".json", ".eml", ".zip", ".csv", ".txt", ".log", ".lock"} <= kinds | {
        p.name[p.name.rfind("."):] for p in paths}
    wrong = [(p.relative_to(ws).as_posix(), oct(stat.S_IMODE(p.stat().st_mode))) for p in paths
             if stat.S_IMODE(p.stat().st_mode) != (0o750 if p.is_dir() else 0o640)]
    assert wrong == []


# Item 14: control characters in names -----------------------------------------------------------


def test_a_newline_in_a_file_name_cannot_forge_a_problem_line(ws: Path) -> None:
    name = "bad\nz.csv:9:-: forged problem.csv"
    (inbox(ws) / name).write_text(HEADER + "\nR-1,2026-13-02,A,x,d,1\n")
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1
    no_traceback(r)
    assert "bad\\nz.csv" in r.err and not any(line.startswith("z.csv:9") for line in r.text.splitlines())
    [rejected] = of_type(ws, "batch.rejected")
    errors = Path(f"{ws / rejected['rejected']}.errors.txt").read_text().splitlines()
    assert errors and all(line.startswith("bad\\nz.csv") for line in errors)
    log_lines = (ws / "data" / "logs" / f"{BID}.log").read_text().splitlines()
    assert len(log_lines) == 1 and "bad\\nz.csv" in log_lines[0]
    [eml] = (ws / "data" / "outbox").glob("*.eml")
    text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_body(("plain",))
    assert not any(line.startswith("z.csv:9") for line in text.get_content().splitlines())


def test_verify_prints_an_unrecorded_file_name_escaped(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    (ws / "data" / "invoices" / "x\nBROKEN: forged").write_bytes(b"")
    r = run_cli(ws, "verify")
    assert r.code == 1
    broken = [line for line in r.out.splitlines() if line.startswith("BROKEN")]
    assert len(broken) == 1 and "x\\nBROKEN: forged" in broken[0]


def test_a_name_that_is_not_utf8_is_rejected_and_printed_escaped(ws: Path) -> None:
    raw = os.fsencode(inbox(ws)) + b"/caf\xe9.csv"
    with open(raw, "wb") as fh:
        fh.write(rows_csv(["R-1"]).encode())
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 1 and "caf\\udce9.csv" in r.err and "not valid UTF-8" in r.err
    no_traceback(r)
    [rejected] = of_type(ws, "batch.rejected")
    assert rejected["name"] == "caf\\udce9.csv" and (ws / rejected["rejected"]).is_file()


def test_a_tab_in_a_name_does_not_add_a_column_to_piped_output(ws: Path) -> None:
    (inbox(ws) / "a\tb.csv").write_text(rows_csv(["R-1"]))
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    header, row = r.out.splitlines()[1:3]
    assert row.count("\t") == header.count("\t") and "a\\tb.csv" in row


# Item 10: formula injection in exports and in the ZIP manifest ---------------------------------

EVIL = '=HYPERLINK("http://evil.example/?p=1","Facture 2026-0001")'


def test_exports_neutralise_formulas_and_keep_amounts_numbers(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "pay", "acme", "100", "--date", "2026-11-18", "--ref", EVIL).code == 0
    assert run_cli(ws, "credit", "2026-0001", "--amount", "100", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "export", "receipts", "--year", "2026").code == 0
    [row] = list(csv.DictReader(io.StringIO((ws / "exports/receipts-2026.csv").read_text())))
    assert row["reference"] == "'" + EVIL and row["amount"] == "100.00"
    assert run_cli(ws, "export", "payments", "--year", "2026", "--excel").code == 0
    [prow] = list(csv.DictReader(io.StringIO((ws / "exports/payments-2026-excel.csv").read_text("utf-8-sig")),
                                 delimiter=";"))
    assert prow["reference"] == "'" + EVIL and prow["amount"] == "100,00"
    for excel in ((), ("--excel",)):
        assert run_cli(ws, "export", "revenues", "--year", "2026", *excel).code == 0
    revenues = list(csv.DictReader(io.StringIO((ws / "exports/revenues-2026.csv").read_text())))
    [credit] = [r for r in revenues if r["invoice_number"].startswith("AV-")]
    assert credit["amount_incl_vat"] == "-100.00" and credit["amount_excl_vat"] == "-83.33"  # numbers stay numbers
    assert b";EUR;-83,33;-16,67;-100,00\r\n" in (ws / "exports/revenues-2026-excel.csv").read_bytes()


def test_the_zip_manifest_neutralises_a_formula_customer_name(ws: Path) -> None:
    (inbox(ws) / "a.csv").write_text(HEADER + "\nR-1,2026-11-02,=cmd|' /C calc'!A0,1 rue A,Pain,1.10\n"
                                     "R-2,2026-11-02,@SUM(A1),1 rue A,Pain,2.10\n")
    r = run_cli(ws, "batch", "--date", DATE)
    assert r.code == 0, r.text
    with zipfile.ZipFile(ws / "downloads" / f"{BID}-2026-11.zip") as zf:
        manifest = list(csv.reader(io.StringIO(zf.read("manifest.csv").decode())))
    assert [row[2] for row in manifest[1:]] == ["'=cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert [row[3] for row in manifest[1:]] == ["1.16", "2.22"]  # totals stay numbers


# Item 11: HTML injection in the operator alert email ---------------------------------------------


def test_the_alert_email_html_part_escapes_file_names(ws: Path) -> None:
    name = "<img src=x onerror=alert(1)>.csv"
    (inbox(ws) / name).write_text(HEADER + "\nR-1,2026-13-02,<b>bold</b>,x,d,1\n")
    assert run_cli(ws, "batch", "--date", DATE).code == 1
    [eml] = (ws / "data" / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert "<img src=x" in message.get_body(("plain",)).get_content()  # the text part stays readable


# Item 17: a journal entry without its files -------------------------------------------------------


def rewrite_journal(ws: Path, change: Any) -> None:
    """Apply `change` to the entries and re-chain them, as a forger (or a bug) would.

    A thorough forger also rewrites the head record (the end of the chain) and drops the
    derived checkpoint; what is tested here is what happens after such a rewrite.
    """

    from facturier.store.journal import GENESIS, Head, canonical, entry_hash, write_head

    entries = journal(ws)
    change(entries)
    prev = GENESIS
    lines = []
    for entry in entries:
        entry["prev"] = prev
        entry["hash"] = entry_hash(entry)
        prev = entry["hash"]
        lines.append(canonical(entry) + b"\n")
    (ws / "data" / "journal.jsonl").write_bytes(b"".join(lines))
    write_head(ws / "data" / "journal.head", Head(len(entries), prev))
    (ws / "data" / "state.sqlite").unlink(missing_ok=True)


def test_send_meeting_an_invoice_without_files_is_an_integrity_error_naming_it(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0  # issues and emails 2026-0001 (acme)

    def drop_json(entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            if entry["type"] == "invoice.issued" and entry["number"] == "2026-0001":
                del entry["files"]["json"]
        entries[:] = [e for e in entries if not e["type"].startswith(("invoice.sending", "invoice.sent"))]
        for seq, entry in enumerate(entries, start=1):
            entry["seq"] = seq

    rewrite_journal(ws, drop_json)
    r = run_cli(ws, "send", "--date", "2026-11-15")
    no_traceback(r)
    assert r.code == 1 and "2026-0001" in r.err and "names no json file" in r.err
    assert "KeyError" not in r.text
    assert json.dumps(of_type(ws, "invoice.sent")) == "[]"
    for command in (("show", "2026-0001"), ("credit", "2026-0001", "--date", "2026-11-20")):
        r = run_cli(ws, *command)
        no_traceback(r)
        assert r.code == 1 and "2026-0001" in r.err and "names no json file" in r.err, command
