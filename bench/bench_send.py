"""Sending 1,000 invoice emails in one `facturier send` to a real SMTP server on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.bench_issue import make_workspace
from bench.common import REPO, row, timed_cli

N = 1000


def smtp_workspace(port: int) -> Path:
    """bench_issue's workspace with the loopback server as transport."""
    ws = make_workspace(N, "send")
    toml = ws / "facturier.toml"
    text = toml.read_text(encoding="utf-8").replace('transport = "outbox"', 'transport = "smtp"')
    toml.write_text(text + f'\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n',
                    encoding="utf-8")
    return ws


def main() -> None:
    """Issue 1,000 invoices, then time `facturier send` on the send day."""
    sys.path.insert(0, str(REPO))
    from tests.smtp_server import start_server

    server = start_server(auth=False)
    try:
        ws = smtp_workspace(server.port)
        # Issue with auto_send off (run would send too), then switch it on and time `send` alone.
        timed_cli(ws, "run", "--date", "2026-11-15")
        for client in (ws / "clients").glob("*.toml"):
            client.write_text(client.read_text(encoding="utf-8").replace("auto_send = false", "auto_send = true"),
                              encoding="utf-8")
        wall, rss, _ = timed_cli(ws, "send", "--date", "2026-11-15")
        sent = len(server.recorder.messages)
    finally:
        server.controller.stop()
    print(f"Sending invoice emails ({sent} messages, PDF attached, one SMTP connection, loopback aiosmtpd)")
    row("wall time", f"{wall:.2f} s")
    row("messages per second", f"{sent / wall:.0f}")
    row("peak RSS", f"{rss:.0f} MiB")
    assert sent == N, f"expected {N} messages, got {sent}"
