"""`facturier check` covers collections: reminder templates rendered, the dry run said."""

from __future__ import annotations

from pathlib import Path

import pytest

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


SECRETS = [  # values pasted where the name of an environment variable goes
    ("collections.payment_link", 'provider = "stripe"\nsecret_key_env', "sk_live_51HxQzL2eZvKYlo2C0a1b2c3d"),
    ("collections.payment_link", 'provider = "stripe"\nsecret_key_env', "rk_test_abc123"),
    ("collections.slack", "webhook_env", "xoxb_1234567890_abcdefghij"),
    ("collections.imap", 'host = "imap.example.com"\nusername = "me"\npassword_env', "Tr0ub4dorAnd3Horses"),
    ("mail.smtp", 'host = "smtp.example.com"\nusername = "me"\npassword_env', "correcthorse2battery9staple"),
    ("mail.smtp", 'host = "smtp.example.com"\nusername = "me"\npassword_env', "X7K9P2Q4M8"),
]


@pytest.mark.parametrize(("section", "before", "secret"), SECRETS)
def test_a_secret_pasted_as_an_environment_variable_name_is_never_echoed(ws: Path, section: str, before: str,
                                                                         secret: str) -> None:
    cfg = ws / "facturier.toml"
    text = cfg.read_text(encoding="utf-8")
    if section == "mail.smtp":
        text = text.replace('transport = "outbox"', 'transport = "smtp"')
    if section == "collections.imap":
        text += '\n[collections]\ndrafts = "imap"\n'
    cfg.write_text(text + f'\n[{section}]\n{before} = "{secret}"\n', encoding="utf-8")
    for command in (("check",), ("remind", "--date", "2026-12-01", "--dry-run"), ("run", "--date", "2026-11-15")):
        r = run_cli(ws, *command)
        assert secret not in r.text and secret[:12] not in r.text and "Traceback" not in r.text, r.text
        assert r.code == 1 and "must name an environment variable" in r.text, r.text


def test_a_lowercase_name_is_not_echoed_when_its_variable_is_unset(ws: Path) -> None:
    # "hunter2" is a valid name, and maybe the password itself: the warning does not repeat it.
    cfg = ws / "facturier.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[collections.slack]\nwebhook_env = "hunter2"\n',
                   encoding="utf-8")
    r = run_cli(ws, "check")
    assert r.code == 0 and "hunter2" not in r.text, r.text
    assert "collections.slack.webhook_env: the environment variable that this key names (not shown" in r.text
