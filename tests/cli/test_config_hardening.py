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
