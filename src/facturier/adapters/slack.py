"""Slack incoming webhook: one message per drafted reminder at or above the thresholds.

`[collections.slack] webhook_env` names the environment variable holding the webhook URL
(a secret: whoever has it can post to the channel). Slack answers `200 ok` in the body when
it accepted a message, and an error word otherwise (`invalid_payload`, `no_service`,
`channel_is_archived`, ...). Anything but `ok` (or no answer) becomes a warning alert: a
Slack problem never blocks drafting, and nothing is retried. A webhook that cannot be reached
(refused, timed out) is not asked again in the run: one warning names every reminder left
without its alert, so a dead endpoint costs one timeout, not one per reminder.

The URL is checked before any use (a space, a control character, a malformed IPv6 host or
port, no host are warnings naming the variable), and no message ever shows it or its path:
the documented cron line keeps stderr in a log file.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from urllib.parse import urlsplit

from facturier.config.collections import SlackConfig
from facturier.config.mail import env_label, is_loopback

TIMEOUT = 10


@dataclass(frozen=True, slots=True)
class SlackNotice:
    """What a message says about one drafted reminder."""

    invoice: str
    client: str
    amount: Decimal
    currency: str
    stage: int
    days_overdue: int


def wanted(config: SlackConfig, stage: int, amount: Decimal) -> bool:
    """At or above both thresholds (the amount compared in the invoice's own currency)."""
    return stage >= config.min_stage and amount >= config.min_amount


def message_text(notice: SlackNotice) -> str:
    """One line a channel reads at a glance; Slack's three control characters (& < >) escaped."""
    return escape(f"Reminder drafted: invoice {notice.invoice} ({notice.client}), {notice.amount} "
                  f"{notice.currency} due, stage {notice.stage}, {notice.days_overdue} days overdue", quote=False)


class SlackWebhook:
    """Posts JSON `{"text": ...}` to the webhook; `post` returns a warning or None."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def post(self, text: str) -> str | None:
        """None when Slack answered `ok`; else the warning to show (never raises)."""
        return self.send(text)[0]

    def send(self, text: str) -> tuple[str | None, bool]:
        """`post`'s warning, and whether Slack was reached at all (False: not worth asking again)."""
        request = urllib.request.Request(self.url, data=json.dumps({"text": text}).encode("utf-8"),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(2048).decode("utf-8", "replace").strip()
                status = response.status
        except urllib.error.HTTPError as exc:
            body = exc.read(2048).decode("utf-8", "replace").strip()
            return f"Slack refused the alert ({exc.code} {body or exc.reason}); the reminder was drafted", True
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = self._scrub(str(getattr(exc, "reason", exc)))
            return f"Slack could not be reached ({reason}); the reminder was drafted", False
        if status != 200 or body != "ok":
            return f"Slack did not accept the alert ({status} {body[:200]!r}); the reminder was drafted", True
        return None, True

    def _scrub(self, text: str) -> str:
        """`text` without the webhook URL or its path (the secret part)."""
        path = urlsplit(self.url).path
        text = text.replace(self.url, "(the webhook URL)")
        return text.replace(path, "(its path)") if len(path) > 1 else text


def webhook_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook URL, without quoting it (it is a secret); None when it can."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "holds a space or a control character"
    try:
        parsed = urlsplit(url)
        host, port = parsed.hostname or "", parsed.port
    except ValueError as exc:  # a malformed IPv6 host ("Invalid IPv6 URL") or port
        part = "port" if "port" in str(exc).lower() else "host"
        return f"is not a valid URL (its {part} cannot be read)"
    del port  # read only to be checked
    if not host:
        return "has no host"
    if parsed.scheme != "https" and not (parsed.scheme == "http" and is_loopback(host)):
        return "is not an https:// URL"
    return None


def open_webhook(config: SlackConfig, environ: Mapping[str, str]) -> tuple[SlackWebhook | None, str | None]:
    """The webhook, or the warning saying why there is none (never an error)."""
    url = environ.get(config.webhook_env, "").strip()
    if not url:
        return None, (f"[collections.slack] webhook_env: {env_label(config.webhook_env, 'webhook_env')} is "
                      "not set; no Slack alerts")
    problem = webhook_problem(url)
    if problem is not None:
        return None, (f"[collections.slack] webhook_env: the URL in {config.webhook_env} {problem} (the value is "
                      "not shown); no Slack alerts")
    return SlackWebhook(url), None


def notify(config: SlackConfig, environ: Mapping[str, str], notices: list[SlackNotice]) -> list[str]:
    """Post one message per notice at or above the thresholds; the warnings, if any."""
    chosen = [n for n in notices if wanted(config, n.stage, n.amount)]
    if not chosen:
        return []
    webhook, warning = open_webhook(config, environ)
    if webhook is None:
        return [warning] if warning else []
    warnings: list[str] = []
    for index, notice in enumerate(chosen):
        problem, reached = webhook.send(message_text(notice))
        if not reached:  # down or timing out: one wait a run, not one per reminder
            rest = ", ".join(n.invoice for n in chosen[index:])
            again = " (not asked again for the others this run)" if index + 1 < len(chosen) else ""
            return [*warnings, f"{rest}: {problem}{again}"]
        if problem:
            warnings.append(f"{notice.invoice}: {problem}")
    return warnings


def check_webhook(config: SlackConfig | None, environ: Mapping[str, str]) -> list[str]:
    """`check`'s warning for a webhook URL that is set but unusable (never showing it)."""
    url = environ.get(config.webhook_env, "").strip() if config is not None else ""
    problem = webhook_problem(url) if config is not None and url else None
    if config is None or problem is None:
        return []
    return [(f"facturier.toml: collections.slack.webhook_env: the URL in {config.webhook_env} {problem} (the value "
            "is not shown); remind posts no Slack alert until it is fixed")]
