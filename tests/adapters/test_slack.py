"""Slack alerts against a real HTTP server on loopback that answers like Slack's webhooks."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from facturier.adapters.slack import SlackNotice, message_text, notify
from facturier.config.collections import SlackConfig


class FakeSlack(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, str]]] = []
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeSlack.received.append({"path": self.path, "type": self.headers["Content-Type"],
                                   "json": json.loads(body)})
        status, text = FakeSlack.answers.pop(0) if FakeSlack.answers else (200, "ok")
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slack() -> Any:
    FakeSlack.answers, FakeSlack.received = [], []
    server = HTTPServer(("127.0.0.1", 0), FakeSlack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/XXXX"
    server.shutdown()
    server.server_close()


CONFIG = SlackConfig(webhook_env="SLACK_WEBHOOK", min_stage=28, min_amount=Decimal(500))


def notice(stage: int = 28, amount: str = "1200.00", invoice: str = "2026-0042") -> SlackNotice:
    return SlackNotice(invoice, "ACME <SARL> & co", Decimal(amount), "EUR", stage, stage + 2)


def test_only_reminders_at_or_above_both_thresholds_are_posted(slack: str) -> None:
    warnings = notify(CONFIG, {"SLACK_WEBHOOK": slack},
                      [notice(), notice(21, invoice="low-stage"), notice(35, "499.99", "low-amount"),
                       notice(42, "500", "edge")])
    assert warnings == []
    texts = [r["json"]["text"] for r in FakeSlack.received]
    assert texts == [message_text(notice()), message_text(notice(42, "500", "edge"))]
    assert texts[0] == ("Reminder drafted: invoice 2026-0042 (ACME &lt;SARL&gt; &amp; co), 1200.00 EUR due, "
                        "stage 28, 30 days overdue")
    assert FakeSlack.received[0]["path"] == "/services/T000/B000/XXXX"
    assert FakeSlack.received[0]["type"] == "application/json"


@pytest.mark.parametrize("status,body,expected", [
    (400, "invalid_payload", "Slack refused the alert (400 invalid_payload)"),
    (404, "no_service", "Slack refused the alert (404 no_service)"),
    (200, "not ok", "Slack did not accept the alert (200 'not ok')"),
])
def test_anything_but_ok_is_a_warning(slack: str, status: int, body: str, expected: str) -> None:
    FakeSlack.answers = [(status, body)]
    [warning] = notify(CONFIG, {"SLACK_WEBHOOK": slack}, [notice()])
    assert warning.startswith(f"2026-0042: {expected}") and warning.endswith("the reminder was drafted")


def test_unreachable_or_unset_webhook_is_a_warning_never_an_error() -> None:
    [gone] = notify(CONFIG, {"SLACK_WEBHOOK": "http://127.0.0.1:9/x"}, [notice()])
    assert gone.startswith("2026-0042: Slack could not be reached")
    [unset] = notify(CONFIG, {}, [notice()])
    assert "SLACK_WEBHOOK is not set" in unset
    [plain] = notify(CONFIG, {"SLACK_WEBHOOK": "http://hooks.slack.example/x"}, [notice()])
    assert "not an https:// URL (the value is not shown)" in plain and "hooks.slack" not in plain


@pytest.mark.parametrize(("url", "why"), [
    ("https://hooks.slack.com/services/T0/B0/SECRET here", "holds a space or a control character"),
    ("https://hooks.slack.com/services/T0/B0/SE\nCRET", "holds a space or a control character"),
    ("https://[::1/services/T0/B0/SECRET", "is not a valid URL (its host cannot be read)"),
    ("https://[zz::1]/services/T0/B0/SECRET", "is not a valid URL (its host cannot be read)"),
    ("https://hooks.slack.com:99999/services/T0/B0/SECRET", "is not a valid URL (its port cannot be read)"),
    ("https:///services/T0/B0/SECRET", "has no host"),
])
def test_a_malformed_webhook_url_is_a_warning_that_never_shows_the_secret(url: str, why: str) -> None:
    """Once a traceback (InvalidURL, "Invalid IPv6 URL") printing the secret path."""
    [warning] = notify(CONFIG, {"SLACK_WEBHOOK": url}, [notice()])
    assert f"the URL in SLACK_WEBHOOK {why}" in warning
    assert "SECRET" not in warning and "services" not in warning


def test_an_unreachable_webhook_names_no_path() -> None:
    from facturier.adapters.slack import SlackWebhook

    warning = SlackWebhook("http://127.0.0.1:9/services/T/B/SECRET").post("x")
    assert warning is not None and "could not be reached" in warning and "SECRET" not in warning
