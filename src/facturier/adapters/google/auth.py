"""Signing in to Google: the consent flow, and the saved token (0600, refreshed silently).

`consent` runs google-auth-oauthlib's installed-app flow: a web server on 127.0.0.1 (never
another interface), on a free port, only until the browser comes back with the code. It is
the only place Facturier listens on a socket. `GoogleSession` loads the token file,
refuses it when other users may read it, checks it grants every scope the configuration
needs, refreshes it when expired (saving the new access token), and builds API clients
whose every request carries it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facturier.adapters.google.api import INSTALL_HINT, auth_error, build_service
from facturier.adapters.google.errors import REAUTH_HINT, GoogleAuthError, GoogleError
from facturier.adapters.tokens import read_private_token, save_token
from facturier.config.google import GoogleConfig

LOOPBACK = "127.0.0.1"
HTTP_TIMEOUT = 60


def token_path(config: GoogleConfig, root: Path) -> Path:
    """The token file: `~` expanded; a relative path is relative to the workspace."""
    path = Path(os.path.expanduser(config.token_file))
    return path if path.is_absolute() else root / path


def client_secret_path(config: GoogleConfig, root: Path) -> Path:
    """The OAuth client file named by `[google] client_secret`."""
    if not config.client_secret:
        raise GoogleAuthError('[google] client_secret is not set: download the OAuth client of a '
                              '"Desktop app" from Google Cloud and write its path there (docs/google.md)')
    path = Path(os.path.expanduser(config.client_secret))
    return path if path.is_absolute() else root / path


def read_token(path: Path) -> dict[str, Any]:
    """The saved token's fields; refused when missing, not the user's, or open to others."""
    data = read_private_token(path, "the Google token", GoogleAuthError, REAUTH_HINT)
    if data is None:
        raise GoogleAuthError(f"not signed in to Google ({path} does not exist): run `facturier auth google`")
    return data


def granted_scopes(data: dict[str, Any]) -> set[str]:
    """The scopes a saved token grants."""
    scopes = data.get("scopes") or []
    return set(scopes.split() if isinstance(scopes, str) else scopes)


class GoogleSession:
    """The signed-in user's credentials and the API clients built with them.

    `http` is the underlying httplib2-like transport: a real `httplib2.Http` by default,
    googleapiclient's `HttpMockSequence` in tests (it then also answers the token refresh).
    """

    def __init__(self, path: Path, scopes: Sequence[str], http: Any = None) -> None:
        try:
            import google_auth_httplib2
            import httplib2
            from google.oauth2.credentials import Credentials
        except ImportError:
            raise GoogleError(INSTALL_HINT) from None
        self.path = path
        data = read_token(path)
        missing = sorted(set(scopes) - granted_scopes(data))
        if missing:
            raise GoogleAuthError(f"the saved Google sign-in does not grant {', '.join(missing)}, which "
                                  f"the configuration uses; {REAUTH_HINT}")
        self._http = http if http is not None else httplib2.Http(timeout=HTTP_TIMEOUT)
        self.credentials = Credentials.from_authorized_user_info(data, scopes=sorted(granted_scopes(data)))  # type: ignore[no-untyped-call]
        if not self.credentials.valid:
            self._refresh(google_auth_httplib2.Request(self._http))
        self.authorized = google_auth_httplib2.AuthorizedHttp(self.credentials, http=self._http)

    def _refresh(self, request: Any) -> None:
        from google.auth.exceptions import RefreshError, TransportError

        try:
            self.credentials.refresh(request)
        except RefreshError as exc:
            raise auth_error(exc) from None
        except (TransportError, OSError) as exc:
            raise GoogleError(f"cannot reach Google to refresh the sign-in: {exc}") from None
        save_token(self.path, self.credentials.to_json())

    def service(self, api: str, version: str) -> Any:
        """An API client (`gmail`/`v1`, `sheets`/`v4`) whose requests carry the token."""
        return build_service(api, version, self.authorized)


def consent(secret: Path, scopes: Sequence[str], token: Path, *, open_browser: bool = True,
            port: int = 0, timeout: int = 300, browser: str | None = None) -> set[str]:
    """Run the installed-app flow on 127.0.0.1 and save the token; the scopes granted."""
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow
    except ImportError:
        raise GoogleError(INSTALL_HINT) from None
    if not scopes:
        raise GoogleAuthError("the configuration uses no Google service ([mail] transport = \"gmail\", "
                              "[collections] drafts = \"gmail\" or source = \"sheets\"): nothing to sign in for")
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secret), scopes=list(scopes))
    except (OSError, ValueError) as exc:
        raise GoogleAuthError(f"[google] client_secret: {secret} is not an OAuth client file of a "
                              f"\"Desktop app\" ({exc})") from None
    try:
        credentials = flow.run_local_server(host=LOOPBACK, bind_addr=LOOPBACK, port=port,
                                            open_browser=open_browser, timeout_seconds=timeout,
                                            browser=browser)
    except Exception as exc:  # noqa: BLE001 -- oauthlib's and the socket's errors, told in one line
        raise GoogleAuthError(f"the Google sign-in did not complete: {type(exc).__name__}: {exc}") from None
    if credentials is None:
        raise GoogleAuthError(f"the Google sign-in did not complete within {timeout} s; run it again")
    save_token(token, credentials.to_json())
    return set(credentials.scopes or scopes)


def google_warnings(config: Any, root: Path) -> list[str]:
    """What `check` says about the Google sign-in the configuration needs (never fatal:
    `auth google` may simply not have been run yet)."""
    from facturier.config.google import google_scopes

    scopes = google_scopes(config)
    if not scopes:
        return []
    path = token_path(config.google, root)
    try:
        data = read_token(path)
    except GoogleAuthError as exc:
        return [f"[google] token_file: {exc}"]
    missing = sorted(set(scopes) - granted_scopes(data))
    if missing:
        return [f"[google] token_file: the saved sign-in does not grant {', '.join(missing)}; {REAUTH_HINT}"]
    return []
