"""A real SMTP server on loopback (aiosmtpd) that records, refuses or drops, for the mail tests."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "billing", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorder:
    """Stores every accepted message; can refuse recipients or drop the connection."""

    refuse: set[str] = field(default_factory=set)
    drop_after: int | None = None  # drop the connection at MAIL FROM once this many were accepted
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.drop_after is not None and len(self.messages) >= self.drop_after:
            server.transport.close()  # the server vanishes before accepting anything more
            return "421 gone"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def refs(self) -> list[str]:
        return [str(m["X-Facturier-Ref"]) for m in self.messages]


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder
    controller: Controller


def start_server(auth: bool = True) -> SmtpServer:
    """aiosmtpd on 127.0.0.1 (plain text: loopback only), requiring LOGIN/PLAIN when auth."""
    recorder = Recorder()
    port = free_port()
    kwargs: dict[str, Any] = {"auth_require_tls": False}
    if auth:
        kwargs.update(authenticator=authenticator, auth_required=True)
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return SmtpServer("127.0.0.1", port, recorder, controller)


def use_smtp(ws: Any, server: SmtpServer, auth: bool = True) -> dict[str, str]:
    """Switch a workspace's facturier.toml to this server; returns the env holding the password."""
    toml = ws / "facturier.toml"
    text = toml.read_text(encoding="utf-8").replace('transport = "outbox"', 'transport = "smtp"')
    text += f'\n[mail.smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\ntimeout = 10\n'
    if auth:
        text += f'username = "{USER}"\npassword_env = "TEST_SMTP_PASSWORD"\n'
    toml.write_text(text, encoding="utf-8")
    return {"TEST_SMTP_PASSWORD": PASSWORD}
