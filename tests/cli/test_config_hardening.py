"""Configuration hardening seen from the CLI: `check` reports it, `run` and `batch` refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import journal, run_cli

BATCH = "batch_clients/boulangerie-martin.toml"


def edit(ws: Path, relative: str, old: str, new: str) -> None:
    """Replace text in a workspace file, failing loudly when the text is absent."""
    path = ws / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_refused(ws: Path, *args: str, problem: str) -> None:
    """The command exits 1 with a clear `Error:` naming the problem, no traceback, no write."""
    r = run_cli(ws, *args)
    assert r.code == 1, r.text
    assert "Traceback" not in r.text
    assert problem in r.err, r.err
    assert journal(ws) == []


def test_a_number_template_naming_a_path_is_refused_by_check_and_run(ws: Path) -> None:
    edit(ws, "facturier.toml", 'invoice = "{year}-{seq:04d}"', 'invoice = "F/{year}/{seq:04d}"')
    problem = ("facturier.toml: numbering.invoice: 'F/{year}/{seq:04d}' contains characters not "
               "allowed in a number")
    r = run_cli(ws, "check")
    assert r.code == 1 and problem in r.out, r.text
    assert_refused(ws, "run", "--date", "2026-11-15", problem=problem)


def test_a_batch_numbering_escaping_the_workspace_is_refused_by_check_and_batch(
    tmp_path: Path,
) -> None:
    from tests.conftest import copy_demo

    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    edit(ws, BATCH, 'numbering = "BM-{year}-{seq:05d}"',
         'numbering = "../../../tmp/x/BZ-{seq:05d}"')
    problem = f"{BATCH}: numbering: '../../../tmp/x/BZ-{{seq:05d}}' contains characters not allowed"
    r = run_cli(ws, "check")
    assert r.code == 1 and problem in r.out, r.text
    assert_refused(ws, "batch", "--date", "2026-11-20", problem=problem)
    assert not (tmp_path / "tmp").exists()
    assert list((ws / "data" / "inbox_batch" / "boulangerie-martin").iterdir())  # left in place


@pytest.mark.parametrize("template", ["..{seq}", ".hidden-{seq}"])
def test_dot_tricks_are_refused_by_check(ws: Path, template: str) -> None:
    edit(ws, "facturier.toml", 'credit_note = "AV-{year}-{seq:04d}"', f'credit_note = "{template}"')
    r = run_cli(ws, "check")
    assert r.code == 1 and "facturier.toml: numbering.credit_note:" in r.out
    assert "is not a safe file name" in r.out


def test_a_client_line_at_19_6_is_refused_by_check_and_run(ws: Path) -> None:
    edit(ws, "clients/acme.toml", 'vat_rate = "20"', 'vat_rate = "19.6"')
    problem = "clients/acme.toml: lines[0].vat_rate: '19.6' is not a French VAT rate"
    r = run_cli(ws, "check")
    assert r.code == 1 and problem in r.out, r.text
    assert_refused(ws, "run", "--date", "2026-11-15", problem=problem)


def _drop(ws: Path, name: str, content: bytes) -> Path:
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(content)
    return inbox


def test_batch_rejects_a_name_spanning_lines_and_a_look_alike_reference(ws: Path) -> None:
    header = "reference,date,customer_name,customer_address,description,unit_price"
    content = (f'{header}\nR2,2026-11-02,"Café\nTOTAL TTC 0,00",1 rue A | 69001 Lyon,Pain,1\n'
               f"R\u200b2,2026-11-02,Café,1 rue A | 69001 Lyon,Pain,1\n")
    inbox = _drop(ws, "orders.csv", content.encode())
    r = run_cli(ws, "batch", "--date", "2026-11-20")
    assert r.code == 1 and "Traceback" not in r.text
    errors = (inbox / "rejected" / "orders.csv.errors.txt").read_text(encoding="utf-8")
    assert errors.splitlines()[0].startswith("orders.csv:2:customer_name: contains U+000A (LINE FEED)")
    assert errors.splitlines()[1].startswith("orders.csv:4:reference: contains U+200B (ZERO WIDTH SPACE)")
    assert not [e for e in journal(ws) if e["type"] == "invoice.issued"]


def test_batch_names_a_utf16_file(ws: Path) -> None:
    header = "reference,date,customer_name,customer_address,description,unit_price"
    inbox = _drop(ws, "excel.csv", f"{header}\nR-1,2026-11-02,A,x,d,1\n".encode("utf-16"))
    assert run_cli(ws, "batch", "--date", "2026-11-20").code == 1
    errors = (inbox / "rejected" / "excel.csv.errors.txt").read_text(encoding="utf-8")
    assert errors.startswith("excel.csv:1:-: the file is UTF-16")
