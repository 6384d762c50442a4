"""A loopback accredited platform (PA) for the e-invoicing tests: real HTTP in a thread.

It follows the AFNOR XP Z12-013 services as Facturier calls them: an OAuth2 client-credentials
token endpoint, the Flow service (`POST /afnor-flow/v1/flows` multipart with `flowInfo` and
`file`, `GET /flows/{flowId}` with `docType`, `POST /flows/search` on `trackingId`,
`updatedAfter`, `flowType`, `flowDirection`) and the Directory service
(`GET /afnor-directory/v1/siren/code-insee:{siren}`, 404 `NOT_FOUND` when absent). It stores
every flow it receives, and emits lifecycle statuses as CDAR files built with pyfrctc, as
incoming `CustomerInvoiceLC` flows.

Faults: `fail_next(status, retry_after=None, count=1, path=None)` answers the next API calls with that
status; `stop()` takes it down (connection refused) and `start()` brings it back on the same
port; `on_submit` runs after a flow is stored and before the answer (a test kills the client
there).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The demo client acme's SIREN, which the tests' directory lists as receiving through "Other PA".
ACME_SIREN = "443061841"
CLIENT_ID = "facturier-test"
CLIENT_SECRET = "s3cret-of-the-loopback-pa"
ENV = {"FACTURIER_PA_CLIENT_ID": CLIENT_ID, "FACTURIER_PA_CLIENT_SECRET": CLIENT_SECRET}
LABELS = {"200": "Déposée", "201": "Émise par la plateforme", "202": "Reçue par la plateforme",
          "203": "Mise à disposition", "204": "Prise en charge", "205": "Approuvée",
          "206": "Approuvée partiellement", "207": "En litige", "208": "Suspendue", "209": "Complétée",
          "210": "Refusée", "211": "Paiement transmis", "212": "Encaissée", "213": "Rejetée"}


@dataclass
class StoredFlow:
    """A flow the platform holds."""

    flow_id: str
    tracking_id: str
    name: str
    syntax: str
    flow_type: str
    direction: str
    content: bytes
    updated_at: str
    rule: str = ""

    def metadata(self) -> dict[str, Any]:
        return {"flowId": self.flow_id, "trackingId": self.tracking_id, "name": self.name,
                "flowSyntax": self.syntax, "flowType": self.flow_type,
                "flowDirection": self.direction, "processingRule": self.rule,
                "submittedAt": self.updated_at, "updatedAt": self.updated_at,
                "acknowledgement": {"status": "Ok"}}


@dataclass
class PAState:
    """What the platform holds and how it misbehaves next."""

    flows: list[StoredFlow] = field(default_factory=list)
    directory: dict[str, str] = field(default_factory=dict)  # siren -> platform name
    tokens: set[str] = field(default_factory=set)
    faults: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    on_submit: Callable[[StoredFlow], None] | None = None
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2027, 9, 1, 8, 0, 0))
    ids: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self) -> str:
        self.clock += dt.timedelta(seconds=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def sent(self, direction: str = "Out", syntax: str | None = None) -> list[StoredFlow]:
        return [f for f in self.flows if f.direction == direction and (syntax is None or f.syntax == syntax)]


class Handler(BaseHTTPRequestHandler):
    server: PAServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- dispatch -------------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        st = self.server.state
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with st.lock:
            st.requests.append((method, url.path))
        if url.path == "/oauth2/token" and method == "POST":
            return self._token(body)
        with st.lock:
            fault = next((f for f in st.faults if f[2] in (None, url.path)), None)
            if fault is not None:
                st.faults.remove(fault)
        if fault is not None:
            status, retry_after, _ = fault
            headers = {"Retry-After": retry_after} if retry_after else {}
            return self._json(status, {"errorCode": str(status), "errorMessage": f"injected {status}"}, headers)
        if self.headers.get("Authorization", "").removeprefix("Bearer ") not in st.tokens:
            return self._json(401, {"errorCode": "UNAUTHORIZED", "errorMessage": "invalid or expired token"})
        routes = {("POST", "/afnor-flow/v1/flows"): lambda: self._submit(body),
                  ("POST", "/afnor-flow/v1/flows/search"): lambda: self._search(body)}
        if (method, url.path) in routes:
            return routes[(method, url.path)]()
        if method == "GET" and url.path.startswith("/afnor-flow/v1/flows/"):
            return self._get(url.path.rsplit("/", 1)[1], parse_qs(url.query).get("docType", ["Metadata"])[0])
        if method == "GET" and url.path.startswith("/afnor-directory/v1/siren/code-insee:"):
            return self._directory(url.path.rsplit(":", 1)[1])
        return self._json(404, {"errorCode": "NOT_FOUND", "errorMessage": f"no route {method} {url.path}"})

    # -- endpoints ------------------------------------------------------------------------------

    def _token(self, body: bytes) -> None:
        form = parse_qs(body.decode())
        auth = self.headers.get("Authorization", "")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":") \
            if auth.startswith("Basic ") else (form.get("client_id", [""])[0], "", form.get("client_secret", [""])[0])
        if form.get("grant_type") != ["client_credentials"] or (user, password) != (CLIENT_ID, CLIENT_SECRET):
            return self._json(401, {"error": "invalid_client"})
        token = f"tok-{next(self.server.state.ids)}"
        self.server.state.tokens.add(token)
        self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _submit(self, body: bytes) -> None:
        parts = _multipart(self.headers.get("Content-Type", ""), body)
        if "flowInfo" not in parts or "file" not in parts:
            return self._json(400, {"errorCode": "BAD_REQUEST", "errorMessage": "flowInfo and file are required"})
        info = json.loads(parts["flowInfo"][1])
        st = self.server.state
        with st.lock:
            flow = StoredFlow(flow_id=f"flow-{next(st.ids):05d}", tracking_id=info.get("trackingId", ""),
                              name=info.get("name", ""), syntax=info.get("flowSyntax", ""),
                              flow_type="CustomerInvoice" if info.get("flowSyntax") == "Factur-X" else "",
                              direction="Out", content=parts["file"][1], updated_at=st.tick(),
                              rule=info.get("processingRule", ""))
            st.flows.append(flow)
        if st.on_submit is not None:
            st.on_submit(flow)
        self._json(202, flow.metadata())

    def _search(self, body: bytes) -> None:
        where = json.loads(body or b"{}").get("where", {})
        limit = int(json.loads(body or b"{}").get("limit", 100))
        st = self.server.state
        with st.lock:
            found = [f for f in st.flows if _matches(f, where)]
        found.sort(key=lambda f: f.updated_at)
        self._json(200, {"results": [f.metadata() for f in found[:limit]]})

    def _get(self, flow_id: str, doc_type: str) -> None:
        flow = next((f for f in self.server.state.flows if f.flow_id == flow_id), None)
        if flow is None:
            return self._json(404, {"errorCode": "NOT_FOUND", "errorMessage": f"no flow {flow_id}"})
        if doc_type == "Metadata":
            return self._json(200, flow.metadata())
        self._reply(200, flow.content, "application/octet-stream")

    def _directory(self, siren: str) -> None:
        platform = self.server.state.directory.get(siren)
        if platform is None:
            return self._json(404, {"errorCode": "NOT_FOUND", "errorMessage": f"SIREN {siren} not in directory"})
        self._json(200, {"siren": siren, "businessName": f"Company {siren}", "entityType": "Private",
                         "platform": {"name": platform}})

    # -- answers --------------------------------------------------------------------------------

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode(), "application/json", headers)

    def _reply(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def _matches(flow: StoredFlow, where: dict[str, Any]) -> bool:
    if "trackingId" in where and flow.tracking_id != where["trackingId"]:
        return False
    if "updatedAfter" in where and not flow.updated_at > where["updatedAfter"]:
        return False
    if "flowType" in where and flow.flow_type not in where["flowType"]:
        return False
    return not ("flowDirection" in where and flow.direction not in where["flowDirection"])


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """Parts of a multipart/form-data body: name -> (filename, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        parts[name] = (part.get_filename() or "", part.get_payload(decode=True) or b"")
    return parts


class PAServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: PAState, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = state


class LoopbackPA:
    """The platform, started in a thread: `url`, `state`, faults, statuses to emit."""

    def __init__(self) -> None:
        self.state = PAState()
        self.port = 0
        self._server: PAServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = PAServer(self.state, self.port)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, status: int, retry_after: str | None = None, count: int = 1, path: str | None = None) -> None:
        """Answer the next `count` API calls (to `path` only, when given) with `status`."""
        with self.state.lock:
            self.state.faults += [(status, retry_after, path)] * count

    def config(self, mode: str = "test", since: str = "2026-01-01") -> str:
        """The `[einvoicing]` table pointing at this platform."""
        return (f'\n[einvoicing]\nmode = "{mode}"\napi_url = "{self.url}"\n'
                f'token_url = "{self.url}/oauth2/token"\nsince = {since}\n')

    def emit_status(self, number: str, code: str, *, reason: str | None = None, seller_siren: str = "732829320",
                    issue_date: dt.date = dt.date(2027, 9, 15), content: bytes | None = None) -> StoredFlow:
        """A lifecycle status of an invoice, as an incoming CDAR flow (or `content` as it is)."""
        st = self.state
        with st.lock:
            at = st.tick()
            xml = content if content is not None else cdar(number, code, reason, seller_siren, issue_date, st.clock)
            flow = StoredFlow(flow_id=f"cdar-{next(st.ids):05d}", tracking_id="", name=f"CDAR_{number}_{code}.xml",
                              syntax="CDAR", flow_type="CustomerInvoiceLC", direction="In", content=xml,
                              updated_at=at)
            st.flows.append(flow)
        return flow


def cdar(number: str, code: str, reason: str | None, seller_siren: str, issue_date: dt.date,
         when: dt.datetime) -> bytes:
    """A CDAR lifecycle message (pyfrctc, XSD-checked as it is built)."""
    import pyfrctc

    data: dict[str, Any] = {
        "MDT-2": "REGULATED", "MDT-3": "urn.cpro.gouv.fr:1p0:CDV:invoice",
        "MDT-4": f"CDV-{number}-{code}", "MDT-8": when, "MDT-21": "WK",
        "MDT-38": {"0238": "9999"}, "MDT-39": "Loopback PA", "MDT-40": "WK",
        "MDT-57": {"0002": seller_siren}, "MDT-58": "Seller", "MDT-59": "SE",
        "MDT-73": seller_siren, "MDT-73-1": "0225", "MDT-74": False, "MDT-77": "305",
        "MDT-78": when, "MDT-87": number, "MDT-91": "380", "MDT-100": issue_date,
        "MDT-105": code, "MDT-106": LABELS.get(code, code), "MDT-129": {"0002": seller_siren},
    }
    codes = {"213": "REJ_SEMAN", "210": "CMD_ERR"}
    if reason:
        data["MDG-37"] = [{"MDT-113": codes.get(code, "AUTRE"), "MDT-114": reason}]
    if code == "212":  # Encaissée: the amount received (MDT-215) at its VAT rate (MDT-224)
        data["MDG-37"] = [{"MDG-43": [{"MDT-207": "MEN", "MDT-215": {"float": 100.0, "currency": "EUR"}}]}]
        return with_vat_percent(pyfrctc.generate_cdar(data, check_xsd=False), "20")
    result: bytes = pyfrctc.generate_cdar(data)
    return result


def with_vat_percent(xml: bytes, rate: str) -> bytes:
    """pyfrctc 0.24 cannot write MDT-224 (ValuePercent), which a 212 needs: added after the amount."""
    import pyfrctc
    from lxml import etree

    ram = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    root = etree.fromstring(xml)
    for amount in root.iter(f"{{{ram}}}ValueAmount"):
        percent = etree.Element(f"{{{ram}}}ValuePercent")
        percent.text = rate
        amount.addnext(percent)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    pyfrctc.check_cdar_xsd(out)
    return out
