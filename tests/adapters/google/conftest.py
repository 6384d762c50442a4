"""Fixtures for the Google adapters: a saved token, and googleapiclient's own HTTP double."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("googleapiclient")

from googleapiclient.http import HttpMockSequence

from facturier.config.google import GMAIL_COMPOSE, SHEETS

TOKEN_URI = "https://oauth2.googleapis.com/token"


def write_token(path: Path, *, scopes: tuple[str, ...] = (GMAIL_COMPOSE, SHEETS), expired: bool = False,
                mode: int = 0o600) -> Path:
    """A token file as google-auth writes it (`Credentials.to_json()`)."""
    expiry = datetime.now(UTC) + (timedelta(hours=-1) if expired else timedelta(hours=1))
    data = {"token": "ya29.access", "refresh_token": "1//refresh", "token_uri": TOKEN_URI,
            "client_id": "id.apps.googleusercontent.com", "client_secret": "secret",
            "scopes": list(scopes), "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.fixture
def token(tmp_path: Path) -> Path:
    return write_token(tmp_path / "home" / "google-token.json")


def ok(body: Any) -> tuple[dict[str, str], str]:
    return {"status": "200", "content-type": "application/json"}, json.dumps(body)


def error(status: int, reason: str, message: str = "error", *, status_text: str = "",
          headers: dict[str, str] | None = None) -> tuple[dict[str, str], str]:
    """A Google JSON error as the APIs send it (reason in `errors`, status in `status`)."""
    inner: dict[str, Any] = {"code": status, "message": message,
                             "errors": [{"message": message, "domain": "global", "reason": reason}]}
    if status_text:
        inner["status"] = status_text
    body = {"error": inner}
    return {"status": str(status), "content-type": "application/json", **(headers or {})}, json.dumps(body)


class Sleeps(list[float]):
    """An injectable sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def mock(*responses: tuple[dict[str, str], str]) -> HttpMockSequence:
    return HttpMockSequence(list(responses))
