"""An accredited platform (PA) through its AFNOR XP Z12-013 API: the Flow service (send a flow,
search flows, read one) and the Directory service (does a SIREN receive e-invoices, where).

Why not pyfrctc's calls: pyfrctc 0.24 finds a platform's URLs in a built-in table keyed by
its token URL (one platform, SUPER PDP), so another platform's base URL cannot be given to
it without editing that module's global table; its `send_flow` sends no `trackingId` and its
`search_flows` cannot search by one, which is how a crash between a send and its journal
entry is resolved here; and it turns a 429 into an error instead of waiting. These few calls
are made with `requests` (pyfrctc's own HTTP client); pyfrctc stays for the CDAR and Flux 10
files (`ops/einvoicing/`).

Authentication is OAuth2 client credentials: the token comes from `token_url` with the
client id and secret (HTTP Basic, RFC 6749 §2.3.1), is kept for the process and fetched
again once when the platform answers 401. A 429 waits its Retry-After (at most
`MAX_WAIT` seconds in all, at least `MIN_WAIT` a time even when it says 0, then gives
up); 5xx, a refused connection or a timeout raise
`PlatformUnavailable`; a refused token `PlatformRefused`. Messages name the platform's URL,
never a credential.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import requests

from facturier.adapters import retry_after
from facturier.core.errors import FacturierError

FLOW: Final = "/afnor-flow/v1"
DIRECTORY: Final = "/afnor-directory/v1"
TIMEOUT: Final = 30.0
MAX_WAIT: Final = 60.0  # seconds of Retry-After honoured per call before giving up
MIN_WAIT: Final = 1.0  # a 429 waits at least this long, so that MAX_WAIT bounds the retries
PAGE: Final = 100
LIFECYCLE: Final = "CustomerInvoiceLC"  # the flow type of a lifecycle message (CDAR) sent to us


class PlatformError(FacturierError):
    """The platform could not do what was asked; nothing was lost (the caller says what stays due)."""


class PlatformUnavailable(PlatformError):
    """The platform is down, overloaded (5xx, 429 past the wait) or unreachable."""


class PlatformRefused(PlatformError):
    """The platform refused the credentials (401/403 after a fresh token)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """An OAuth2 client id and secret, read from the environment (never shown)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow as the platform describes it."""

    flow_id: str
    tracking_id: str
    updated_at: str
    flow_type: str = ""
    syntax: str = ""
    direction: str = ""  # "In" (to us) or "Out" (from us), when the platform says it

    @classmethod
    def of(cls, data: Any) -> Flow:
        """The flow of a JSON answer; PlatformError when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("flowId"), str) or not data["flowId"]:
            raise PlatformError(f"the platform answered something that is not a flow: {str(data)[:200]!r}")
        return cls(flow_id=data["flowId"], tracking_id=str(data.get("trackingId") or ""),
                   updated_at=str(data.get("updatedAt") or data.get("submittedAt") or ""),
                   flow_type=str(data.get("flowType") or ""), syntax=str(data.get("flowSyntax") or ""),
                   direction=str(data.get("flowDirection") or ""))


@dataclass(frozen=True, slots=True)
class DirectoryAnswer:
    """Whether a SIREN receives e-invoices, and through which platform."""

    receives: bool
    platform: str = ""


class Platform:
    """One PA account: its API base URL, token URL and credentials."""

    def __init__(self, api_url: str, token_url: str, credentials: Credentials, *,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self._credentials = credentials
        self._session = session or requests.Session()
        self._sleep = sleep
        self._token: str | None = None

    # -- the calls ------------------------------------------------------------------------------

    def submit_flow(self, content: bytes, filename: str, syntax: str, rule: str, tracking_id: str) -> Flow:
        """Send a file as a flow (`POST /flows`, multipart); the platform's flow."""
        info = {"trackingId": tracking_id, "name": filename, "flowSyntax": syntax, "processingRule": rule}
        files = {"flowInfo": (None, json.dumps(info), "application/json"),
                 "file": (filename, content, "application/pdf" if filename.endswith(".pdf") else "application/xml")}
        answer = self._call("POST", f"{FLOW}/flows", expect=(200, 201, 202), files=files)
        return Flow.of(_json(answer))

    def flows_tracked(self, tracking_id: str) -> list[Flow]:
        """The flows the platform holds under a tracking id (`POST /flows/search`): only those
        that carry it, should the platform ignore the filter (another flow taken for this one
        would journal as sent a file never sent)."""
        flows = [Flow.of(item) for item in self._search({"trackingId": tracking_id})]
        return [f for f in flows if f.tracking_id == tracking_id]

    def lifecycle_flows(self, updated_after: str) -> list[Flow]:
        """Every incoming lifecycle flow (CDAR) updated after a time, oldest first, all pages.

        The next page starts after the page's second latest time, not its latest: flows of the
        latest instant may go on past the page's end, and a search strictly after that instant
        would pass over them (those read twice are kept once). A full page of one instant
        cannot be paged through by time: an error rather than statuses passed over."""
        where: dict[str, Any] = {"flowType": [LIFECYCLE], "flowDirection": ["In"],
                                 "updatedAfter": updated_after}
        found: dict[str, Flow] = {}
        seen: set[str] = set()  # every flow id listed, lifecycle or not
        while True:
            page = [Flow.of(item) for item in self._search(where)]
            if len(page) >= PAGE and all(f.flow_id in seen for f in page):
                raise PlatformError(f"{self.api_url}: the flow search answered the same {len(page)} flows again "
                                    f"for updatedAfter {where['updatedAfter']}: it does not page by time; ask your "
                                    "platform")
            seen.update(f.flow_id for f in page)
            # Only lifecycle flows, should the platform ignore the filter (our own invoices and
            # e-reports read as statuses would stop every run at the first one).
            found.update((f.flow_id, f) for f in page
                         if f.flow_type in ("", LIFECYCLE) and f.direction in ("", "In"))
            if len(page) < PAGE:
                return sorted(found.values(), key=lambda f: (f.updated_at, f.flow_id))
            times = sorted({f.updated_at for f in page})
            if len(times) == 1:
                raise PlatformError(f"{self.api_url}: more than {PAGE} lifecycle flows carry the same time "
                                    f"({times[0]}): they cannot be searched page by page; ask your platform")
            where = {**where, "updatedAfter": times[-2]}

    def flow_file(self, flow_id: str) -> bytes:
        """The file of a flow as it was received (`GET /flows/{id}?docType=Original`)."""
        return bytes(self._call("GET", f"{FLOW}/flows/{flow_id}", params={"docType": "Original"}).content)

    def directory(self, siren: str) -> DirectoryAnswer:
        """Whether a company receives e-invoices (`GET /siren/code-insee:{siren}`), and where."""
        answer = self._call("GET", f"{DIRECTORY}/siren/code-insee:{siren}", expect=(200, 404))
        if answer.status_code == 404:
            return DirectoryAnswer(False)
        data = _json(answer)
        if not isinstance(data, dict) or data.get("siren") != siren:
            raise PlatformError(f"the directory answered for another company than SIREN {siren}")
        platform = data.get("platform")
        name = platform.get("name", "") if isinstance(platform, dict) else ""
        return DirectoryAnswer(True, str(name or ""))

    # -- plumbing -------------------------------------------------------------------------------

    def _search(self, where: dict[str, Any]) -> list[Any]:
        answer = _json(self._call("POST", f"{FLOW}/flows/search", json={"where": where, "limit": PAGE}))
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise PlatformError(f"{self.api_url}: a flow search answered without a results list")
        return results

    def _call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        """One API call: a fresh token once on 401, Retry-After honoured on 429 (up to MAX_WAIT)."""
        waited, renewed = 0.0, False
        while True:
            answer = self._send(method, self.api_url + path, headers={"Authorization": f"Bearer {self.token()}"},
                                **kwargs)
            status = answer.status_code
            if status in expect:
                return answer
            if status == 401 and not renewed:
                self._token, renewed = None, True
                continue
            if status == 429:  # a Retry-After of 0 waits MIN_WAIT: never a loop of instant retries
                delay = max(retry_after(answer.headers.get("Retry-After"), 1.0), MIN_WAIT)
                if waited + delay <= MAX_WAIT:
                    self._sleep(delay)
                    waited += delay
                    continue
                raise PlatformUnavailable(f"{self.api_url} is rate-limiting (429): it asks to wait {delay:g} s more "
                                          f"(Retry-After) after {waited:g} s waited, past the {MAX_WAIT:.0f} s "
                                          "Facturier waits per call")
            raise _status_error(self.api_url + path, answer)

    def token(self) -> str:
        """The access token (client credentials), fetched once per process."""
        if self._token is None:
            c = self._credentials
            answer = self._send("POST", self.token_url, data={"grant_type": "client_credentials"},
                                auth=(c.client_id, c.client_secret))
            if answer.status_code in (400, 401, 403):
                raise PlatformRefused(f"{self.token_url} refused the client credentials ({answer.status_code}): "
                                      "check the client id and secret of your platform account")
            if answer.status_code != 200:
                raise _status_error(self.token_url, answer)
            token = _json(answer).get("access_token") if isinstance(_json(answer), dict) else None
            if not isinstance(token, str) or not token:
                raise PlatformError(f"{self.token_url} answered without an access_token")
            self._token = token
        return self._token

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError as exc:
            raise PlatformUnavailable(f"{url} is unreachable ({_reason(exc)})") from None
        except requests.Timeout:
            raise PlatformUnavailable(f"{url} did not answer within {TIMEOUT:.0f} s") from None
        except requests.RequestException as exc:
            raise PlatformUnavailable(f"{url}: {type(exc).__name__}") from None


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise PlatformError(f"{answer.url}: the answer ({answer.status_code}) is not JSON") from None




def _reason(exc: requests.ConnectionError) -> str:
    """Why a connection failed, in words that point at the fix (a typo in the host, a certificate)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return ("TLS failed: its certificate is not trusted here, or it does not speak https; a test platform "
                "signed by a private authority needs that authority's file in REQUESTS_CA_BUNDLE")
    text = str(exc).lower()
    if any(k in text for k in ("failed to resolve", "name or service not known", "name resolution",
                               "nodename nor servname")):
        return "its host name cannot be resolved: check the URL for a typo, and the network"
    return "connection refused" if "refused" in text else "no connection"


def _status_error(url: str, answer: requests.Response) -> PlatformError:
    """The error for an unexpected status, with the platform's own error message when it gave one."""
    detail = ""
    try:
        data = answer.json()
        if isinstance(data, dict):
            detail = str(data.get("errorMessage") or data.get("error_description") or data.get("error") or "")
    except ValueError:
        pass
    suffix = f": {detail[:200]}" if detail else ""
    status = answer.status_code
    if status in (401, 403):
        return PlatformRefused(f"{url} refused the access token ({status}){suffix}: check your platform account")
    if status >= 500:
        return PlatformUnavailable(f"{url} failed ({status}){suffix}")
    return PlatformError(f"{url} answered {status}{suffix}")
