"""The Google error tree (see the package docstring)."""

from __future__ import annotations

from facturier.core.errors import FacturierError

REAUTH_HINT = "run `facturier auth google` to sign in again"


class GoogleError(FacturierError):
    """A Google API call did not do what was asked."""


class GoogleAuthError(GoogleError):
    """No usable sign-in: the user must run `facturier auth google`."""


class GoogleApiError(GoogleError):
    """The API refused the request; `status` and `reason` are Google's."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


class GooglePermissionError(GoogleApiError):
    """403: the token lacks a scope, or the account may not open that document."""


class GoogleUnavailable(GoogleError):
    """The API could not be reached, failed (5xx), or kept rate-limiting past the retries."""
