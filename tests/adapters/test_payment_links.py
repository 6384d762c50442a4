"""Payment links: a URL template, and the stripe library pointed at a loopback server that
answers like Stripe's API (form-encoded requests, Idempotency-Key, JSON objects and errors)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

pytest.importorskip("stripe")

from facturier.adapters.payment_links import (
    PaymentLinkError,
    StripeLinks,
    TemplateLinks,
    idempotency_key,
    open_provider,
)
from facturier.config.collections import PaymentLinkConfig


class FakeStripe(BaseHTTPRequestHandler):
    """POST /v1/payment_links (idempotent by key) and POST /v1/payment_links/<id> (update)."""

    requests: ClassVar[list[dict[str, Any]]] = []
    by_key: ClassVar[dict[str, dict[str, Any]]] = {}
    links: ClassVar[dict[str, dict[str, Any]]] = {}
    fail_next: tuple[int, dict[str, Any]] | None = None

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        key = self.headers.get("Idempotency-Key")
        FakeStripe.requests.append({"path": self.path, "form": {k: v[0] for k, v in form.items()},
                                    "key": key, "auth": self.headers.get("Authorization")})
        if FakeStripe.fail_next is not None:
            status, body = FakeStripe.fail_next
            FakeStripe.fail_next = None
            return self._answer(status, body)
        if self.path == "/v1/payment_links":
            if key in FakeStripe.by_key:
                return self._answer(200, FakeStripe.by_key[key])
            link_id = f"plink_{len(FakeStripe.links) + 1}"
            link = {"id": link_id, "object": "payment_link", "active": True, "livemode": False,
                    "url": f"https://buy.stripe.com/test_{link_id}", "metadata": {}}
            FakeStripe.links[link_id] = FakeStripe.by_key[key or link_id] = link
            return self._answer(200, link)
        link_id = self.path.rsplit("/", 1)[-1]
        if link_id not in FakeStripe.links:
            return self._answer(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                "message": f"No such payment link: '{link_id}'"}})
        FakeStripe.links[link_id]["active"] = form.get("active", ["true"])[0] == "true"
        return self._answer(200, FakeStripe.links[link_id])

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_test")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stripe_api() -> Any:
    FakeStripe.requests, FakeStripe.by_key, FakeStripe.links, FakeStripe.fail_next = [], {}, {}, None
    server = HTTPServer(("127.0.0.1", 0), FakeStripe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_template_link_fills_and_encodes_the_placeholders() -> None:
    links = TemplateLinks("https://pay.example/{number}?amount={amount}&currency={currency}")
    link = links.create("2026/42 A", Decimal("1200.5"), "EUR")
    assert link.url == "https://pay.example/2026%2F42%20A?amount=1200.50&currency=EUR"


def test_stripe_link_is_created_with_price_data_and_a_fixed_idempotency_key(stripe_api: str) -> None:
    links = StripeLinks("sk_test_123", api_base=stripe_api)
    first = links.create("2026-0042", Decimal("1200.50"), "EUR")
    again = links.create("2026-0042", Decimal("1200.50"), "EUR")  # a retry after a lost answer
    assert first == again and first.link_id == "plink_1" and first.url == "https://buy.stripe.com/test_plink_1"
    assert len(FakeStripe.links) == 1
    request = FakeStripe.requests[0]
    assert request["path"] == "/v1/payment_links" and request["auth"] == "Bearer sk_test_123"
    assert request["key"] == idempotency_key("2026-0042", Decimal("1200.50"), "EUR") == \
        "facturier-payment-link-2026-0042-EUR-120050"
    assert request["form"] == {
        "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "120050",
        "line_items[0][price_data][product_data][name]": "Invoice 2026-0042",
        "metadata[invoice]": "2026-0042", "metadata[amount]": "1200.50", "metadata[currency]": "EUR",
        "restrictions[completed_sessions][limit]": "1"}
    other = links.create("2026-0042", Decimal("700.00"), "EUR")
    assert other.link_id == "plink_2"


def test_stripe_link_is_deactivated(stripe_api: str) -> None:
    links = StripeLinks("sk_test_123", api_base=stripe_api)
    link = links.create("2026-0042", Decimal(10), "EUR")
    links.deactivate(link.link_id)
    assert FakeStripe.links[link.link_id]["active"] is False
    assert FakeStripe.requests[-1]["path"] == f"/v1/payment_links/{link.link_id}"
    assert FakeStripe.requests[-1]["form"] == {"active": "false"}


def test_stripe_errors_are_one_line(stripe_api: str) -> None:
    links = StripeLinks("sk_test_123", api_base=stripe_api)
    FakeStripe.fail_next = (401, {"error": {"type": "invalid_request_error",
                                            "message": "Invalid API Key provided: sk_test_***123"}})
    with pytest.raises(PaymentLinkError, match="Stripe payment link for invoice 2026-0042: AuthenticationError: "
                                               "Invalid API Key provided"):
        links.create("2026-0042", Decimal(10), "EUR")
    with pytest.raises(PaymentLinkError, match="No such payment link"):
        links.deactivate("plink_404")


def test_the_secret_key_comes_only_from_the_environment() -> None:
    config = PaymentLinkConfig(provider="stripe", secret_key_env="STRIPE_KEY")
    with pytest.raises(PaymentLinkError, match="STRIPE_KEY is not set"):
        open_provider(config, {})
    assert isinstance(open_provider(config, {"STRIPE_KEY": "sk_test_x"}), StripeLinks)


# --- journalled: reuse per invoice and amount, deactivate when paid -------------------------------

def test_links_are_journalled_reused_and_switched_off(ws: Path, stripe_api: str) -> None:
    from facturier.ops.payment_links import deactivate_links, link_for
    from facturier.store.ledger import Ledger
    from tests.conftest import journal

    links = StripeLinks("sk_test_123", api_base=stripe_api)
    with Ledger(ws) as ledger:
        first = link_for(ledger.state, ledger, links, "2026-0042", Decimal("1200.50"), "EUR")
        assert link_for(ledger.state, ledger, links, "2026-0042", Decimal("1200.50"), "EUR") == first
    with Ledger(ws) as ledger:  # a later run: reused from the journal, nothing asked of Stripe
        calls = len(FakeStripe.requests)
        assert link_for(ledger.state, ledger, links, "2026-0042", Decimal("1200.50"), "EUR") == first
        assert len(FakeStripe.requests) == calls
        # A partial payment: a new link for what is due, the old one switched off.
        second = link_for(ledger.state, ledger, links, "2026-0042", Decimal("200.50"), "EUR")
        assert second != first and FakeStripe.links["plink_1"]["active"] is False
        assert deactivate_links(ledger.state, ledger, links, ["2026-0042"]) == []
        assert FakeStripe.links["plink_2"]["active"] is False
        assert ledger.state.links.active("2026-0042") == []
    entries = [(e["type"], e["link_id"], e["amount"]) for e in journal(ws) if e["type"].startswith("payment_link")]
    assert entries == [("payment_link.created", "plink_1", "1200.50"), ("payment_link.created", "plink_2", "200.50"),
                       ("payment_link.deactivated", "plink_1", "1200.50"),
                       ("payment_link.deactivated", "plink_2", "200.50")]


def test_links_of_invoices_no_longer_open_are_switched_off(ws: Path, stripe_api: str) -> None:
    from dataclasses import replace

    from facturier.config import load_workspace
    from facturier.ops.connectors import deactivate_paid_links
    from facturier.store.ledger import Ledger

    workspace = load_workspace(ws)
    collections = workspace.config.collections.model_copy(update={"payment_link": PaymentLinkConfig(
        provider="stripe", secret_key_env="STRIPE_KEY", api_base=stripe_api)})
    workspace = replace(workspace, config=workspace.config.model_copy(update={"collections": collections}))
    env = {"STRIPE_KEY": "sk_test_1"}
    from facturier.ops.payment_links import link_for

    links = StripeLinks("sk_test_1", api_base=stripe_api)
    with Ledger(ws) as ledger:
        link_for(ledger.state, ledger, links, "A-1", Decimal(10), "EUR")
        link_for(ledger.state, ledger, links, "A-2", Decimal(20), "EUR")
        assert deactivate_paid_links(workspace, ledger.state, ledger, {"A-1", "A-2"}, env) == []
        assert deactivate_paid_links(workspace, ledger.state, ledger, {"A-1"}, env) == []
        assert [n for n in ("A-1", "A-2") if ledger.state.links.active(n)] == ["A-1"]
    assert FakeStripe.links["plink_2"]["active"] is False and FakeStripe.links["plink_1"]["active"] is True
