"""The transports against a real SMTP server on loopback, and the outbox on disk."""

from __future__ import annotations

import email
import email.policy
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from facturier.adapters.mail import (
    MailConnectionError,
    MailRefused,
    OutboxMailer,
    PasswordError,
    SmtpMailer,
    read_password,
)
from facturier.config import SmtpConfig
from tests.smtp_server import PASSWORD, USER


def message(to: str = "client@example.com", ref: str = "2026-0001") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Studio <billing@studio.example>"
    msg["To"] = to
    msg["Subject"] = "Invoice"
    msg["X-Facturier-Ref"] = ref
    msg.set_content("hello")
    return msg


def config(server: Any, **extra: Any) -> SmtpConfig:
    return SmtpConfig(host=server.host, port=server.port, security="none", timeout=10, **extra)


def test_smtp_authenticates_and_delivers_with_message_id(smtp_server: Any) -> None:
    mailer = SmtpMailer(config(smtp_server, username=USER, password_env="X"), PASSWORD)
    ids = [mailer.send(message(ref=f"2026-000{i}")) for i in (1, 2)]
    mailer.close()
    received = smtp_server.recorder.messages
    assert [str(m["Message-ID"]) for m in received] == ids
    assert ids[0].endswith("@studio.example>")
    assert smtp_server.recorder.envelopes[0] == ("billing@studio.example", ["client@example.com"])


def test_smtp_wrong_password_is_a_connection_error(smtp_server: Any) -> None:
    mailer = SmtpMailer(config(smtp_server, username=USER, password_env="X"), "wrong")
    with pytest.raises(MailConnectionError, match="login refused") as exc:
        mailer.send(message())
    assert "wrong" not in str(exc.value)
    assert smtp_server.recorder.messages == []


def test_smtp_without_login_is_refused_by_a_server_requiring_auth(smtp_server: Any) -> None:
    with pytest.raises(MailRefused):
        SmtpMailer(config(smtp_server), None).send(message())


def test_refused_message_keeps_the_connection_for_the_next(smtp_server: Any) -> None:
    smtp_server.recorder.refuse = {"gone@example.com"}
    mailer = SmtpMailer(config(smtp_server, username=USER, password_env="X"), PASSWORD)
    with pytest.raises(MailRefused, match="550"):
        mailer.send(message(to="gone@example.com"))
    mailer.send(message(to="ok@example.com"))
    mailer.close()
    assert smtp_server.recorder.refs() == ["2026-0001"]


def test_dropped_connection_raises_connection_error(smtp_server: Any) -> None:
    smtp_server.recorder.drop_after = 1
    mailer = SmtpMailer(config(smtp_server, username=USER, password_env="X"), PASSWORD)
    mailer.send(message())
    with pytest.raises(MailConnectionError):
        mailer.send(message(ref="2026-0002"))
    assert smtp_server.recorder.refs() == ["2026-0001"]


def test_unreachable_server_is_a_connection_error() -> None:
    from tests.smtp_server import free_port

    cfg = SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout=2)
    with pytest.raises(MailConnectionError, match="cannot connect"):
        SmtpMailer(cfg, None).send(message())


def test_outbox_writes_one_parseable_eml_per_message(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox")
    first, second = mailer.send(message()), mailer.send(message())
    files = sorted((tmp_path / "outbox").glob("*-2026-0001*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert str(parsed["Message-ID"]) in (first, second)


def test_password_from_environment() -> None:
    cfg = SmtpConfig(host="smtp.example.com", username="u", password_env="PW")
    assert read_password(cfg, Path("."), {"PW": "x"}) == "x"
    with pytest.raises(PasswordError, match="PW is not set"):
        read_password(cfg, Path("."), {})


def test_password_file_must_be_owner_only(tmp_path: Path) -> None:
    secret = tmp_path / "smtp.pass"
    secret.write_text("from-file\n")
    cfg = SmtpConfig(host="smtp.example.com", username="u", password_file=str(secret))
    os.chmod(secret, 0o640)
    with pytest.raises(PasswordError, match="readable by others") as exc:
        read_password(cfg, tmp_path, {})
    assert "from-file" not in str(exc.value)
    os.chmod(secret, 0o600)
    assert read_password(cfg, tmp_path, {}) == "from-file"


def test_password_file_relative_to_workspace(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("rel")
    os.chmod(tmp_path / "pw", 0o600)
    cfg = SmtpConfig(host="smtp.example.com", username="u", password_file="pw")
    assert read_password(cfg, tmp_path, {}) == "rel"
