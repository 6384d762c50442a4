"""`facturier check` covers collections: reminder templates rendered, the dry run said."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_check_reports_a_reminder_template_problem_and_the_dry_run(ws: Path) -> None:
    ok = run_cli(ws, "check")
    assert ok.code == 0, ok.text
    assert "Configuration OK." in ok.out and "([collections] dry_run = true)" in ok.out
    override = ws / "templates" / "reminders" / "fr" / "stage_14.txt"
    override.parent.mkdir(parents=True)
    override.write_text("Subject: Relance {{ invoice_id }}\n\nBonjour {{ nom }},\n", encoding="utf-8")
    bad = run_cli(ws, "check")
    assert bad.code == 1 and "Traceback" not in bad.text
    assert "templates/reminders/fr/stage_14.txt: (file): unknown merge field 'nom'" in bad.out


def test_check_asks_for_the_templates_of_a_custom_stage(ws: Path) -> None:
    config = ws / "facturier.toml"
    config.write_text(config.read_text() + '\n[collections]\ndry_run = false\nstages = [7, 10]\n')
    res = run_cli(ws, "check")
    assert res.code == 1
    assert "templates/reminders/en/stage_10.txt: (file): missing" in res.out
    assert "dry run" not in res.text
