"""`auth google`'s installed-app flow end to end: google-auth-oauthlib's own redirect server on
127.0.0.1, a scripted browser that consents, and a token endpoint on loopback."""

from __future__ import annotations

import json
import stat
import threading
import urllib.request
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from facturier.adapters.google.auth import consent
from facturier.adapters.google.errors import GoogleAuthError
from facturier.config.google import GMAIL_COMPOSE, SHEETS_READONLY


class TokenEndpoint(BaseHTTPRequestHandler):
    """Google's token endpoint as the flow sees it: a code in, a token out."""

    requests: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        TokenEndpoint.requests.append(parse_qs(body))
        answer = json.dumps({"access_token": "ya29.new", "refresh_token": "1//new", "expires_in": 3599,
                             "token_type": "Bearer", "scope": f"{GMAIL_COMPOSE} {SHEETS_READONLY}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


class ConsentingBrowser(webbrowser.BaseBrowser):
    """Opens the consent URL 'as a user who clicks Allow': goes straight to the redirect."""

    def __init__(self) -> None:
        super().__init__("facturier-test")
        self.opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        query = parse_qs(urlparse(url).query)
        redirect = query["redirect_uri"][0]
        back = redirect + "?" + urlencode({"code": "4/code", "state": query["state"][0],
                                           "scope": " ".join(query["scope"])})
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read(), daemon=True).start()
        return True


@pytest.fixture
def token_server() -> Any:
    server = HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_consent_listens_on_loopback_and_saves_the_token_0600(tmp_path: Path, token_server: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test token endpoint is plain http
    secret = tmp_path / "client_secret.json"
    secret.write_text(json.dumps({"installed": {
        "client_id": "id.apps.googleusercontent.com", "client_secret": "s3cret",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"http://127.0.0.1:{token_server.server_port}/token",
        "redirect_uris": ["http://localhost"]}}))
    browser = ConsentingBrowser()
    webbrowser.register("facturier-test", None, browser)
    token = tmp_path / "home" / ".config" / "facturier" / "google-token.json"
    granted = consent(secret, (GMAIL_COMPOSE, SHEETS_READONLY), token, browser="facturier-test", timeout=20)
    assert granted == {GMAIL_COMPOSE, SHEETS_READONLY}
    [url] = browser.opened
    query = parse_qs(urlparse(url).query)
    assert urlparse(query["redirect_uri"][0]).hostname == "127.0.0.1"
    assert set(query["scope"][0].split()) == {GMAIL_COMPOSE, SHEETS_READONLY}
    assert TokenEndpoint.requests[-1]["code"] == ["4/code"]
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "1//new" and saved["token"] == "ya29.new"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_a_bad_client_secret_file_is_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "client_secret.json"
    secret.write_text('{"web": {}}')
    with pytest.raises(GoogleAuthError, match="is not an OAuth client file of a \"Desktop app\""):
        consent(secret, (GMAIL_COMPOSE,), tmp_path / "t.json", open_browser=False, timeout=10)
