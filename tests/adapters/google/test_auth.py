"""The saved Google token: refused when open to others, refreshed silently, invalid_grant told."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from facturier.adapters.google.auth import GoogleSession
from facturier.adapters.google.errors import GoogleAuthError
from facturier.adapters.tokens import save_token
from facturier.config.google import GMAIL_COMPOSE, SHEETS, SHEETS_READONLY
from tests.adapters.google.conftest import mock, ok, write_token


def test_expired_token_is_refreshed_silently_and_saved_0600(tmp_path: Path) -> None:
    path = write_token(tmp_path / "t.json", expired=True)
    http = mock(ok({"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer",
                    "scope": GMAIL_COMPOSE}),
                ok({"id": "r-1"}))
    session = GoogleSession(path, (GMAIL_COMPOSE,), http)
    session.service("gmail", "v1").users().drafts().create(userId="me", body={"message": {"raw": "eA"}}).execute()
    token_call, api_call = http.request_sequence
    assert token_call[0] == "https://oauth2.googleapis.com/token" and token_call[1] == "POST"
    assert "grant_type=refresh_token" in str(token_call[2]) and "refresh_token=1%2F%2Frefresh" in str(token_call[2])
    assert api_call[3]["authorization"] == "Bearer ya29.fresh"
    saved = json.loads(path.read_text())
    assert saved["token"] == "ya29.fresh" and saved["refresh_token"] == "1//refresh"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_invalid_grant_tells_the_user_to_sign_in_again(tmp_path: Path) -> None:
    path = write_token(tmp_path / "t.json", expired=True)
    before = path.read_bytes()
    http = mock(({"status": "400", "content-type": "application/json"},
                 json.dumps({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})))
    with pytest.raises(GoogleAuthError) as caught:
        GoogleSession(path, (GMAIL_COMPOSE,), http)
    message = str(caught.value)
    assert "invalid_grant" in message and "7 days" in message and "facturier auth google" in message
    assert "\n" not in message and path.read_bytes() == before


def test_invalid_grant_during_a_call_is_the_same_clear_error(tmp_path: Path) -> None:
    """A token that expires mid-run: the refresh inside the call fails with invalid_grant."""
    from facturier.adapters.drafts import DraftStoreUnavailable
    from facturier.adapters.drafts.gmail import GmailDrafts
    from tests.adapters.google.test_gmail import reminder

    path = write_token(tmp_path / "t.json")
    http = mock(({"status": "401"}, json.dumps({"error": {"code": 401, "message": "Invalid Credentials"}})),
                ({"status": "400"}, json.dumps({"error": "invalid_grant", "error_description": "Bad Request"})))
    store = GmailDrafts(lambda: GoogleSession(path, (GMAIL_COMPOSE,), http).service("gmail", "v1"),
                        sleep=lambda s: None)
    with pytest.raises(DraftStoreUnavailable, match="invalid_grant.*facturier auth google"):
        store.create(reminder())


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_token_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_token(tmp_path / "t.json", mode=mode)
    with pytest.raises(GoogleAuthError, match=f"readable by others \\(mode {mode:04o}\\); run: chmod 600"):
        GoogleSession(path, (GMAIL_COMPOSE,), mock())


def test_a_link_as_token_is_refused(tmp_path: Path) -> None:
    real = write_token(tmp_path / "real.json")
    link = tmp_path / "t.json"
    link.symlink_to(real)
    with pytest.raises(GoogleAuthError, match="not a regular file"):
        GoogleSession(link, (GMAIL_COMPOSE,), mock())


def test_a_scope_the_configuration_needs_but_not_granted(tmp_path: Path) -> None:
    path = write_token(tmp_path / "t.json", scopes=(GMAIL_COMPOSE, SHEETS_READONLY))
    with pytest.raises(GoogleAuthError, match=f"does not grant {SHEETS}.*facturier auth google"):
        GoogleSession(path, (GMAIL_COMPOSE, SHEETS), mock())


def test_missing_token_says_to_sign_in(tmp_path: Path) -> None:
    with pytest.raises(GoogleAuthError, match="not signed in to Google .*run `facturier auth google`"):
        GoogleSession(tmp_path / "none.json", (GMAIL_COMPOSE,), mock())


def test_save_token_creates_0600_in_a_0700_folder_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "cfg" / "facturier" / "google-token.json"
        save_token(path, '{"refresh_token": "x"}')
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["google-token.json"]
