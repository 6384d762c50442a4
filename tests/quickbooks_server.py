"""A loopback QuickBooks Online: Intuit's OpenID discovery document, its OAuth 2.0 token
endpoint (refresh grant, rotating refresh tokens), and the accounting API's query endpoint
answering the documented JSON (`QueryResponse` of `Invoice` / `Customer` objects, `Fault`
errors), for python-quickbooks and intuit-oauth driven over real HTTP.

The query endpoint takes the statement as python-quickbooks sends it (POST, body
`application/text`) and as Intuit documents it for GET (`?query=...`), understands what the
source asks (`where Balance > '0'`, `where Id in (...)`, `STARTPOSITION`, `MAXRESULTS`),
and refuses an unknown or expired access token with 401, as QuickBooks does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "ABclientid"
CLIENT_SECRET = "s3cret"
REALM = "9130350000000001"
_SELECT = re.compile(r"select \* from (?P<entity>\w+)(?: where (?P<where>.*?))?"
                     r"(?: startposition (?P<start>\d+))?(?: maxresults (?P<max>\d+))?\s*$", re.IGNORECASE)


@dataclass
class QuickBooksState:
    """What the server holds and what it saw."""

    invoices: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    refresh_token: str = "RT-1"
    access_token: str = "AT-0"  # none valid until a refresh, unless a test says so
    issued: int = 0
    queries: list[str] = field(default_factory=list)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    fail_next_query_with: int | None = None
    # Statuses to answer the next queries with, in order (429 throttled, 503...), Retry-After 0.
    failing_queries: list[int] = field(default_factory=list)


def invoice(number: str, customer: str, balance: str, due: str, *, currency: str = "EUR", txn: str = "2026-09-01",
            email: str | None = None, id_: str | None = None) -> dict[str, Any]:
    """An Invoice object as the QuickBooks API returns it (the fields the source reads, and some others)."""
    data: dict[str, Any] = {
        "Id": id_ or number, "SyncToken": "0", "domain": "QBO",
        "DocNumber": number, "TxnDate": txn, "DueDate": due,
        "CurrencyRef": {"value": currency, "name": currency},
        "CustomerRef": {"value": customer, "name": f"ref {customer}"},
        "TotalAmt": json_number(balance), "Balance": json_number(balance), "EmailStatus": "EmailSent",
        "MetaData": {"CreateTime": f"{txn}T10:00:00-08:00", "LastUpdatedTime": f"{txn}T10:00:00-08:00"},
        "Line": [{"Id": "1", "LineNum": 1, "Amount": json_number(balance), "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}}}],
    }
    if email is not None:
        data["BillEmail"] = {"Address": email}
    return data


def customer(id_: str, name: str, email: str | None, currency: str = "EUR", credit: str = "0") -> dict[str, Any]:
    """A Customer object as the QuickBooks API returns it. Its `Balance` (the open balance) is
    worked out when asked: its invoices' balances less `credit`, the credit memos and payments
    it holds unapplied (as QuickBooks keeps it)."""
    data: dict[str, Any] = {"Id": id_, "SyncToken": "0", "DisplayName": name, "CompanyName": name,
                            "Active": True, "CurrencyRef": {"value": currency, "name": currency},
                            "_unapplied": credit}
    if email is not None:
        data["PrimaryEmailAddr"] = {"Address": email}
    return data


def json_number(text: str) -> Any:
    """A JSON number as QuickBooks writes amounts (1200.5, 90)."""
    value = Decimal(text)
    return int(value) if value == value.to_integral() else float(value)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> str:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid_configuration":
            base = self.server.base
            self._send(200, {"issuer": "https://oauth.platform.intuit.com/op/v1",
                             "authorization_endpoint": f"{base}/connect/oauth2",
                             "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                             "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
                             "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
                             "jwks_uri": f"{base}/oauth2/v1/keys"})
            return
        query = parse_qs(url.query).get("query", [""])[0]
        self._query(url.path, query)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/oauth2/v1/tokens/bearer":
            self._token(parse_qs(self._body()))
            return
        self._query(url.path, self._body())

    def _token(self, form: dict[str, list[str]]) -> None:
        state = self.server.state
        state.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._send(401, {"error": "invalid_client"})
            return
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [state.refresh_token]:
            self._send(400, {"error": "invalid_grant"})
            return
        state.issued += 1
        state.access_token, state.refresh_token = f"AT-{state.issued}", f"RT-{state.issued + 1}"
        self._send(200, {"token_type": "bearer", "expires_in": 3600, "x_refresh_token_expires_in": 8726400,
                         "access_token": state.access_token, "refresh_token": state.refresh_token})

    def _query(self, path: str, select: str) -> None:
        state = self.server.state
        if path != f"/v3/company/{REALM}/query":
            self._send(404, {"Fault": {"Error": [{"Message": "not found", "code": "610"}], "type": "ValidationFault"}})
            return
        if self.headers.get("Authorization") != f"Bearer {state.access_token}" or state.fail_next_query_with == 401:
            state.fail_next_query_with = None
            self._send(401, {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; "
                                                  "statusCode=401", "detail": "Token expired", "code": "3200"}],
                                       "type": "AUTHENTICATION"}})
            return
        state.queries.append(select)
        if state.failing_queries:
            status = state.failing_queries.pop(0)
            data = json.dumps({"fault": {"error": [{"message": "ThrottleExceeded" if status == 429 else "Service "
                                                    "unavailable", "code": "003001" if status == 429 else "10000"}],
                                         "type": "SERVICE"}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        match = _SELECT.match(select.strip())
        if match is None:
            self._send(400, {"Fault": {"Error": [{"Message": "Error parsing query", "Detail": select,
                                                  "code": "4000"}], "type": "ValidationFault"}})
            return
        self._send(200, {"QueryResponse": self._answer(match), "time": "2026-12-01T01:00:00.000-08:00"})

    def _answer(self, match: re.Match[str]) -> dict[str, Any]:
        state = self.server.state
        entity, where = match["entity"].capitalize(), (match["where"] or "").strip()
        rows = state.invoices if entity == "Invoice" else state.customers
        if re.fullmatch(r"Balance > '0'", where, re.IGNORECASE):
            rows = [r for r in rows if Decimal(str(r["Balance"])) > 0]
        elif ids := re.fullmatch(r"Id in \((.*)\)", where, re.IGNORECASE):
            wanted = {s.strip().strip("'") for s in ids.group(1).split(",")}
            rows = [r for r in rows if r["Id"] in wanted]
        start, most = int(match["start"] or 1), int(match["max"] or 100)
        page = rows[start - 1:start - 1 + most]
        if entity == "Customer":
            page = [self._with_balance(c) for c in page]
        answer: dict[str, Any] = {"startPosition": start, "maxResults": len(page)}
        if page:
            answer[entity] = page
        return answer


    def _with_balance(self, found: dict[str, Any]) -> dict[str, Any]:
        """The customer as QuickBooks answers it: its open balance, nets of unapplied credit."""
        if "_unapplied" not in found:
            return found
        owed = sum((Decimal(str(i["Balance"])) for i in self.server.state.invoices
                    if i["CustomerRef"]["value"] == found["Id"]), Decimal(0))
        shown = {k: v for k, v in found.items() if k != "_unapplied"}
        return {**shown, "Balance": json_number(str(owed - Decimal(found["_unapplied"])))}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: QuickBooksState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.base = f"http://127.0.0.1:{self.server_port}"


class QuickBooksServer:
    """Started by the context manager; `base` is its URL, `state` what it holds and saw."""

    def __init__(self, state: QuickBooksState | None = None) -> None:
        self.state = state or QuickBooksState()
        self._server = _Server(self.state)
        self.base = self._server.base

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def toml(self, token_file: str) -> str:
        """The [collections] of a workspace reading this server."""
        return (f'\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "quickbooks"\n'
                f'[collections.quickbooks]\nrealm_id = "{REALM}"\ntoken_file = "{token_file}"\n'
                f'api_base = "{self.base}/v3"\ndiscovery_url = "{self.base}/.well-known/openid_configuration"\n')


ENV = {"QUICKBOOKS_CLIENT_ID": CLIENT_ID, "QUICKBOOKS_CLIENT_SECRET": CLIENT_SECRET}
