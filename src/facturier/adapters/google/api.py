"""API clients from the bundled discovery documents, and one call wrapper with retries.

`call(request)` executes a googleapiclient request and retries what Google documents as
retryable: 429, the rate-limit 403s (`rateLimitExceeded`, `userRateLimitExceeded`) and,
when the caller says the request is safe to repeat, 5xx answers and network failures.
Every other 4xx fails at once. The waits double from `BACKOFF_START` seconds (1, 2, 4, 8,
16), at least what a `Retry-After` header asks, through an injectable `sleep` so tests
check the sequence without waiting.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

from facturier.adapters import retry_after
from facturier.adapters.google.errors import (
    REAUTH_HINT,
    GoogleApiError,
    GoogleAuthError,
    GoogleError,
    GooglePermissionError,
    GoogleUnavailable,
)

BACKOFF_START = 1.0
MAX_RETRIES = 5
MAX_WAIT = 64.0
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
PERMISSION_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                "forbidden", "PERMISSION_DENIED"})
INSTALL_HINT = ("the Google client libraries are not installed: "
                "pip install google-api-python-client google-auth-oauthlib")

Sleep = Callable[[float], None]


def build_service(api: str, version: str, http: Any) -> Any:
    """A client for `api` from the discovery document bundled in google-api-python-client."""
    try:
        from googleapiclient.discovery import build
    except ImportError:
        raise GoogleError(INSTALL_HINT) from None
    return build(api, version, http=http, static_discovery=True, cache_discovery=False)


def error_reasons(content: bytes) -> tuple[int, str, set[str]]:
    """(code, message, reasons) of a Google JSON error body; reasons from `errors` and `details`."""
    try:
        error = json.loads(content.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return 0, content.decode("utf-8", "replace")[:200], set()
    if not isinstance(error, dict):
        return 0, str(error)[:200], set()
    reasons = {str(e.get("reason")) for e in error.get("errors", []) if isinstance(e, dict)}
    reasons |= {str(d.get("reason")) for d in error.get("details", []) if isinstance(d, dict)}
    if error.get("status"):
        reasons.add(str(error["status"]))
    return int(error.get("code") or 0), str(error.get("message") or ""), reasons - {"None"}


def call(request: Any, *, what: str, sleep: Sleep = time.sleep, repeatable: bool = False,
         before_retry: Callable[[], Any] | None = None) -> Any:
    """Execute `request` (its `.execute()`); retries as the module says, else translates.

    `before_retry` runs before each new attempt (the draft store looks its draft up there,
    so a create whose answer was lost is never repeated); when it returns something other
    than None, that is the result and nothing is sent again.
    """
    wait = BACKOFF_START
    for attempt in range(MAX_RETRIES + 1):
        if attempt and before_retry is not None:
            found = before_retry()
            if found is not None:
                return found
        try:
            return request.execute(num_retries=0)
        except Exception as exc:  # noqa: BLE001 -- translated below, re-raised if foreign
            delay = _retry_delay(exc, wait, repeatable)
            if delay is None or attempt == MAX_RETRIES:
                raise translate(exc, what) from None
        sleep(delay)
        wait = min(wait * 2, MAX_WAIT)
    raise AssertionError("unreachable")


def _retry_delay(exc: Exception, wait: float, repeatable: bool) -> float | None:
    """How long to wait before retrying `exc`, or None when it must not be retried."""
    status = _status(exc)
    if status is None:
        return wait if repeatable and _is_network(exc) else None
    _, _, reasons = error_reasons(getattr(exc, "content", b""))
    if status == 429 or (status == 403 and reasons & RATE_LIMIT_REASONS):
        return max(wait, _retry_after(exc))
    if status >= 500 and repeatable:
        return wait
    return None


def _status(exc: Exception) -> int | None:
    resp = getattr(exc, "resp", None)
    status = getattr(resp, "status", None)
    return int(status) if status is not None and hasattr(exc, "content") else None


def _retry_after(exc: Exception) -> float:
    resp = getattr(exc, "resp", None)
    return min(retry_after(resp.get("retry-after"), 0.0), MAX_WAIT) if resp is not None else 0.0


def _is_network(exc: Exception) -> bool:
    try:
        import httplib2
    except ImportError:  # pragma: no cover - installed with google-api-python-client
        return isinstance(exc, OSError)
    return isinstance(exc, (OSError, socket.timeout, httplib2.HttpLib2Error))


def translate(exc: Exception, what: str) -> GoogleError:
    """A foreign exception as the Google error tree, with one line naming what failed."""
    if isinstance(exc, GoogleError):
        return exc
    from google.auth.exceptions import RefreshError, TransportError

    if isinstance(exc, RefreshError):
        return auth_error(exc)
    status = _status(exc)
    if status is not None:
        _, message, reasons = error_reasons(exc.content)  # type: ignore[attr-defined]
        named = ", ".join(sorted(reasons)) or "no reason given"
        text = f"{what}: Google answered {status} ({named}): {message}".rstrip(": ")
        if status == 401:
            return GoogleAuthError(f"{what}: Google refused the sign-in (401); {REAUTH_HINT}")
        if status == 403 and reasons & PERMISSION_REASONS:
            hint = ("the saved sign-in lacks a permission the configuration needs (or the account "
                    f"may not open this document); {REAUTH_HINT}, and check the sheet is shared "
                    "with that account")
            return GooglePermissionError(f"{text}; {hint}", status, named)
        if status == 429 or status >= 500 or reasons & RATE_LIMIT_REASONS:
            return GoogleUnavailable(f"{text} (still failing after {MAX_RETRIES} retries)")
        return GoogleApiError(text, status, named)
    if isinstance(exc, TransportError) or _is_network(exc):
        return GoogleUnavailable(f"{what}: cannot reach Google: {exc or type(exc).__name__}")
    raise exc


def auth_error(exc: Exception) -> GoogleAuthError:
    """A failed token refresh as one clear line; invalid_grant is the common case."""
    text = str(exc)
    if "invalid_grant" in text:
        return GoogleAuthError(
            "Google refused the saved sign-in (invalid_grant): it was revoked, or it expired "
            "(an app whose consent screen is in \"Testing\" gets tokens that last 7 days); "
            f"{REAUTH_HINT}")
    return GoogleAuthError(f"cannot refresh the Google sign-in ({text.split(':')[0] or 'refresh failed'}); "
                           f"{REAUTH_HINT}")
