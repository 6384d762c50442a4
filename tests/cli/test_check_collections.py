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


def test_check_warns_of_a_secret_whose_environment_variable_is_not_set(ws: Path) -> None:
    cfg = ws / "facturier.toml"
    cfg.write_text(cfg.read_text() + '\n[collections.slack]\nwebhook_env = "FACTURIER_TEST_SLACK_HOOK"\n'
                   '\n[collections.payment_link]\nprovider = "stripe"\nsecret_key_env = "FACTURIER_TEST_STRIPE"\n')
    r = run_cli(ws, "check")
    assert r.code == 0, r.text
    assert "collections.slack.webhook_env: the environment variable FACTURIER_TEST_SLACK_HOOK is not set" in r.text
    assert "collections.payment_link.secret_key_env: the environment variable FACTURIER_TEST_STRIPE" in r.text
    r = run_cli(ws, "check", env={"FACTURIER_TEST_SLACK_HOOK": "https://hooks.example/x",
                                  "FACTURIER_TEST_STRIPE": "sk_test_1"})
    assert r.code == 0 and "is not set" not in r.text
