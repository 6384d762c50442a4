"""Payment links for reminders: from a URL template, or Stripe Payment Links.

`TemplateLinks` fills `[collections.payment_link] url` with `{number}`, `{amount}` (plain
decimal, "1200.50") and `{currency}`, each URL-encoded. `StripeLinks` creates one Stripe
Payment Link per invoice and amount due (one line "Invoice N" at that amount, limited to
one completed payment), with a fixed idempotency key, so a retry after a lost answer
returns the same link instead of a second one; `deactivate` switches a link off once the
invoice is paid (or a payment changed what is due). The secret key comes only from the
environment variable named by `secret_key_env`.

Errors: `PaymentLinkError` (one line; the reminder is then drafted without a link). Once
Stripe cannot be reached (`APIConnectionError`: refused, timed out, after the library's
retries), the provider asks it nothing more for the rest of the run: every later link is
refused at once, so a Stripe outage costs one wait, not one per reminder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from facturier.config.collections import PaymentLinkConfig
from facturier.config.mail import env_label
from facturier.core.errors import FacturierError
from facturier.core.money import fmt_amount, to_minor


class PaymentLinkError(FacturierError):
    """A payment link could not be made or switched off."""


@dataclass(frozen=True, slots=True)
class PaymentLink:
    """A link for one invoice and amount; `link_id` is the provider's id ("" for a template)."""

    provider: str
    link_id: str
    url: str


class PaymentLinkProvider(ABC):
    """Makes the link a reminder carries; `deactivate` switches one off (if it can be)."""

    name: ClassVar[str]

    @abstractmethod
    def create(self, number: str, amount: Decimal, currency: str) -> PaymentLink:
        """The link to pay `amount` `currency` for invoice `number`."""

    def deactivate(self, link_id: str) -> None:
        """Switch a link off (a template link cannot be: nothing to do)."""


class TemplateLinks(PaymentLinkProvider):
    """A link built from a URL template; nothing is created anywhere."""

    name = "template"

    def __init__(self, template: str) -> None:
        self.template = template

    def create(self, number: str, amount: Decimal, currency: str) -> PaymentLink:
        url = self.template.format(number=quote(number, safe=""), amount=fmt_amount(amount, currency),
                                   currency=quote(currency, safe=""))
        return PaymentLink(self.name, "", url)


def idempotency_key(number: str, amount: Decimal, currency: str) -> str:
    """The same key for the same invoice and amount: Stripe then answers a retry with the
    link it already made (for 24 hours; after that the journal's link is reused anyway)."""
    return f"facturier-payment-link-{number}-{currency}-{to_minor(amount, currency)}"


class StripeLinks(PaymentLinkProvider):
    """Stripe Payment Links through the official library (`StripeClient`)."""

    name = "stripe"

    def __init__(self, secret_key: str, api_base: str | None = None, client: Any = None) -> None:
        if client is None:
            try:
                import stripe
            except ImportError:
                raise PaymentLinkError("the stripe library is not installed: pip install stripe") from None
            bases = {"api": api_base} if api_base else None
            client = stripe.StripeClient(secret_key, base_addresses=bases, max_network_retries=2)  # type: ignore[arg-type]
        self._client = client
        # Set once Stripe could not be reached: the rest of the run asks it nothing more (each
        # call would wait for its timeout and retries again, once per reminder).
        self._unreachable: str | None = None

    def create(self, number: str, amount: Decimal, currency: str) -> PaymentLink:
        params = {
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": to_minor(amount, currency),
                "product_data": {"name": f"Invoice {number}"}}}],
            "metadata": {"invoice": number, "amount": fmt_amount(amount, currency), "currency": currency},
            "restrictions": {"completed_sessions": {"limit": 1}},
        }
        link = self._call(lambda: self._client.v1.payment_links.create(
            params, {"idempotency_key": idempotency_key(number, amount, currency)}), f"invoice {number}")
        return PaymentLink(self.name, str(link["id"]), str(link["url"]))

    def deactivate(self, link_id: str) -> None:
        self._call(lambda: self._client.v1.payment_links.update(link_id, {"active": False}), link_id)

    def _call(self, action: Any, what: str) -> Any:
        import stripe

        if self._unreachable is not None:
            raise PaymentLinkError(f"Stripe payment link for {what}: not asked, Stripe could not be reached "
                                   f"earlier in this run ({self._unreachable})")
        try:
            return action()
        except stripe.StripeError as exc:
            message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
            if isinstance(exc, stripe.APIConnectionError):
                self._unreachable = " ".join(message.split())[:200]
            raise PaymentLinkError(f"Stripe payment link for {what}: {type(exc).__name__}: {message}") from None


def open_provider(config: PaymentLinkConfig, environ: Mapping[str, str]) -> PaymentLinkProvider:
    """The provider `[collections.payment_link] provider` names; Stripe's key from the environment."""
    if config.provider == "template":
        assert config.url is not None  # validated: provider = "template" needs url
        return TemplateLinks(config.url)
    key = environ.get(config.secret_key_env, "").strip()
    if not key:
        raise PaymentLinkError(f"[collections.payment_link] secret_key_env: "
                               f"{env_label(config.secret_key_env, 'secret_key_env')} is not set")
    return StripeLinks(key, config.api_base)
