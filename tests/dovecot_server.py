"""A real Dovecot IMAP server on loopback, started for the draft tests (Debian's dovecot-imapd).

Each instance lives in its own temporary folder: its configuration (Dovecot 2.3 syntax), a
passwd-file with one static user, the maildir, and Dovecot's base and state directories. It
listens on a free high port of 127.0.0.1 with plain-text login (allowed on loopback only,
like the configuration rules), runs in the foreground as a child of the test, and is
stopped by it. As root, mail is stored as `nobody` (Dovecot refuses mail access as root).
Tests skip with a clear reason when Dovecot is not installed.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_server import free_port

USER, PASSWORD = "billing", "imap-s3cret"
CANDIDATES = ("dovecot", "/usr/sbin/dovecot")

CONFIG = """\
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
mail_location = maildir:~/Maildir
# Test data: no fsync per APPEND (a killed server still leaves its page cache to the kernel).
mail_fsync = never
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}
"""
SPECIAL_USE = """\
  mailbox "Brouillons perso" {
    special_use = \\Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }"""


def dovecot_binary() -> str | None:
    """The dovecot executable, or None when the package is not installed."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def require_dovecot() -> str:
    """The dovecot executable, or skip the test with the reason and the fix."""
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd); the IMAP draft tests need it")
    return binary


@dataclass
class Dovecot:
    """A running instance: its ports, folder and process; `cert` when it serves TLS."""

    port: int
    root: Path
    process: subprocess.Popen[bytes]
    imaps_port: int = 0
    cert: Path | None = None

    def client(self) -> imaplib.IMAP4:
        """A logged-in IMAP connection, to read drafts back."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def stop(self) -> None:
        """Stop the server and every process it forked, open IMAP sessions included (a test
        may do it mid-run to kill a store's connection). They share the master's own process
        group, started for this instance."""
        group = self.process.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
            time.sleep(0.05)  # let the session processes act on the signal too

    def restart(self) -> None:
        """Start the same configuration again (same port, same maildir)."""
        self.stop()
        self.process = _spawn(self.root)
        _wait_until_listening(self)

    def log(self) -> str:
        """Dovecot's own log, for failure messages."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _mail_owner() -> tuple[int, int, str]:
    """(uid, gid, user name) mail is stored as: the current user, or `nobody` when root."""
    if os.getuid() != 0:
        entry = pwd.getpwuid(os.getuid())
        return entry.pw_uid, entry.pw_gid, entry.pw_name
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid, entry.pw_name


def _users_lines(name: str) -> str:
    """As a normal user, every Dovecot process runs as that user; as root, the defaults."""
    if os.getuid() == 0:
        return ""
    return f"default_internal_user = {name}\ndefault_login_user = {name}\n"


def _self_signed(root: Path) -> str:
    """A certificate for 127.0.0.1 made with the openssl tool (skip without it); the ssl lines."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is not installed; the IMAP TLS tests need it to make a certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"


def start_dovecot(special_use: bool = True, tls: bool = False) -> Dovecot:
    """Write a configuration in a new temporary folder and start Dovecot in the foreground.

    With `tls`, it also serves implicit TLS on a second port and STARTTLS on the first, with
    a self-signed certificate (`Dovecot.cert`) that tests trust explicitly.
    """
    require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="facturier-dovecot-"))
    root.chmod(0o755)  # the mail user (nobody, under root) must reach its maildir
    uid, gid, name = _mail_owner()
    home = root / "home"
    home.mkdir()
    os.chown(home, uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}\n")
    port, imaps_port = free_port(), free_port() if tls else 0
    config = CONFIG.format(root=root, port=port, imaps_port=imaps_port, users=_users_lines(name),
                           ssl=_self_signed(root) if tls else "ssl = no",
                           mailboxes=SPECIAL_USE if special_use else "")
    (root / "dovecot.conf").write_text(config)
    server = Dovecot(port, root, _spawn(root), imaps_port, root / "cert.pem" if tls else None)
    _wait_until_listening(server)
    return server


def _spawn(root: Path) -> subprocess.Popen[bytes]:
    """Dovecot in the foreground (-F): a child of the test, stopped by it."""
    return subprocess.Popen([require_dovecot(), "-F", "-c", str(root / "dovecot.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _wait_until_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            err = server.process.stderr.read().decode(errors="replace") if server.process.stderr else ""
            pytest.fail(f"Dovecot did not start: {err}\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    server.stop()
    pytest.fail(f"Dovecot did not listen on port {server.port}:\n{server.log()}")


def dovecot_instance(special_use: bool = True, tls: bool = False) -> Iterator[Dovecot]:
    """Start, yield, stop and remove an instance (the body of the fixtures)."""
    server = start_dovecot(special_use, tls)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
