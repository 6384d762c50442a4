"""What a new user meets first: the README quick start, check's warnings, --version, pay -5."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REPO, journal, run_cli


def quick_start_commands() -> list[str]:
    """The facturier commands of the README quick start block, in order, comments removed."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith(("facturier ", "cd "))]


def this_year() -> int:
    """The year in the scaffold's time zone, as the README's `date +%Y` computes it."""
    return datetime.now(ZoneInfo("Europe/Paris")).year


@pytest.mark.parametrize("day", [(1, 1), (1, 14), (2, 28), (12, 31), None])
def test_the_readme_quick_start_works_as_written_on_any_day(
    tmp_path: Path, day: tuple[int, int] | None,
) -> None:
    today = date(this_year(), *day) if day else datetime.now(ZoneInfo("Europe/Paris")).date()
    # Run the block through a real shell, `facturier` being this checkout's CLI, HOME the
    # temporary directory (the block writes to ~/facturier-trial).
    shim = tmp_path / "bin" / "facturier"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m facturier.cli.app "$@"\n')
    shim.chmod(0o755)
    script = "set -e\n" + "\n".join(quick_start_commands()) + "\n"
    env = {**os.environ, "HOME": str(tmp_path), "FACTURIER_TODAY": today.isoformat(),
           "PATH": f"{shim.parent}:{os.environ['PATH']}", "COLUMNS": "200"}
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    number = f"TEST-{today.year}-0001"
    assert f"Invoice {number} (test)" in proc.stdout
    assert "Integrity OK" in proc.stdout
    [issued] = [e for e in journal(tmp_path / "facturier-trial") if e["type"] == "invoice.issued"]
    assert issued["number"] == number and issued["date"] == today.isoformat()


def test_the_quick_start_block_has_the_steps_it_promises() -> None:
    commands = quick_start_commands()
    assert commands[0].startswith("facturier init") and any(c.startswith("facturier show") for c in commands)
    assert "facturier run" in commands and "facturier verify" in commands


def test_check_warns_about_the_init_identity_and_ignored_files(tmp_path: Path) -> None:
    ws = tmp_path / "new"
    assert run_cli(tmp_path, "init", str(ws)).code == 0
    (ws / "clients" / "example-client.toml").rename(ws / "clients" / "example-client.TOML")
    r = run_cli(ws, "check")
    assert r.code == 0, r.text
    assert "warning: facturier.toml: issuer.siren: 123456782 is the example SIREN" in r.out
    assert "warning: clients/example-client.TOML: (file): ignored" in r.out
    assert "Configuration OK, with 2 warning(s)." in r.out


def test_version(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "--version")
    assert r.code == 0 and re.fullmatch(r"facturier \S+\n", r.out), r.text


def test_a_negative_payment_gets_the_amount_rule_not_no_such_option(ws: Path) -> None:
    r = run_cli(ws, "pay", "acme", "-5", "--date", "2026-11-02")
    assert r.code == 1 and "No such option" not in r.text
    assert r.err.strip() == "Error: the amount must be positive, not -5"
    assert journal(ws) == []


def test_invoices_status_help_lists_every_status(ws: Path) -> None:
    from facturier.ops.reports.listing import STATUSES

    r = run_cli(ws, "invoices", "--help")
    help_text = " ".join(r.out.replace("│", " ").split())
    assert ", ".join(STATUSES[:-1]) + f" or {STATUSES[-1]}" in help_text


def test_templates_doc_states_the_sheet_size_the_code_uses() -> None:
    from facturier.render.pool import GROUP_SIZE

    doc = (REPO / "docs" / "templates.md").read_text(encoding="utf-8")
    assert f"compiles up to {GROUP_SIZE} consecutive" in " ".join(doc.split())
