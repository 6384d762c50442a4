"""The operator alert email (issue 24): one email, one language, whatever the issuer's country."""

from __future__ import annotations

import email
import re
from datetime import date
from email import policy
from pathlib import Path

from facturier.config.load import load_workspace
from facturier.ops.delivery.alerts import notify_operator
from facturier.ops.outcome import Alert, Report
from tests.conftest import copy_demo

FRENCH = re.compile(r"alerte|exécution|terminé|Rien n'a|envoyé|bloquante|décembre|\ble \d", re.IGNORECASE)


def test_the_alert_email_of_a_french_issuer_is_in_one_language(tmp_path: Path) -> None:
    """The demo's issuer is French: the email's frame was French around English alerts."""
    ws = load_workspace(copy_demo(tmp_path / "ws"))
    assert ws.config.issuer.country == "FR"
    report = Report("Send", [], alerts=[Alert("error", "2026-0001: not sent (550 mailbox unavailable); "
                                                       "retried on the next run")])
    outcome = notify_operator(ws, [report], date(2026, 12, 6))
    assert outcome == f"Alert summary emailed to {ws.config.issuer.email}."
    [path] = (ws.root / "data" / "outbox").glob("*alerts*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    subject = str(message["Subject"])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert subject == "Facturier: 1 alert(s) on December 6, 2026"
    assert "[Send] 2026-0001: not sent (550 mailbox unavailable)" in text
    for part in (subject, text, html):
        assert not FRENCH.search(part), part
    assert '<html lang="en">' in html


def test_a_mail_template_override_cannot_run_code(tmp_path: Path) -> None:
    """Mail templates run in Jinja's sandbox: an override reaching Python internals is a
    template error (the alert says so), and nothing runs."""
    ws = load_workspace(copy_demo(tmp_path / "ws"))
    target = tmp_path / "PWNED"
    override = ws.root / "templates" / "mail" / "alerts.en.txt"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text("{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == '_wrap_close' %}"
                        f"{{{{ c.__init__.__globals__['system']('touch {target}') }}}}{{% endif %}}{{% endfor %}}\n",
                        encoding="utf-8")
    outcome = notify_operator(ws, [Report("Send", [], alerts=[Alert("error", "x")])], date(2026, 12, 6))
    assert outcome is not None and "mail template alerts.en.txt: SecurityError" in outcome
    assert not target.exists()
