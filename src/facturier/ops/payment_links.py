"""Payment links of reminders, journalled: one per invoice and amount due, reused, and
switched off when the invoice is paid or a payment changed what is due.

Shared by the collections feature (ops/collections) and whatever else drafts reminders:
`link_for` gives the URL for a reminder (reusing the journal's active link for the same
amount, else creating one and journalling `payment_link.created`), `deactivate_links`
switches off the active links of settled invoices and journals `payment_link.deactivated`.
A dry run (no ledger) creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from facturier.adapters.payment_links import PaymentLinkError, PaymentLinkProvider
from facturier.core.money import fmt_amount
from facturier.store.events import PaymentLinkEvent, T
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

DRY_RUN_LINK = "(payment link created when drafting)"


def existing_link(state: LedgerState, provider: str, number: str, amount: Decimal, currency: str) -> str | None:
    """The active link of this provider for exactly this invoice and amount, if any."""
    due = fmt_amount(amount, currency)
    for link_amount, link_currency, link_provider, _, url in state.links.active(number):
        if (link_amount, link_currency, link_provider) == (due, currency, provider):
            return url
    return None


def link_for(state: LedgerState, ledger: Ledger | None, provider: PaymentLinkProvider, number: str,
             amount: Decimal, currency: str) -> str:
    """The reminder's link: the journal's for this amount, else a new one (journalled), whose
    creation also switches off the invoice's links for other amounts (no longer what is due)."""
    found = existing_link(state, provider.name, number, amount, currency)
    if found is not None:
        return found
    if ledger is None:
        return DRY_RUN_LINK
    stale = [link for link in state.links.active(number) if link[2] == provider.name]
    link = provider.create(number, amount, currency)
    ledger.append(PaymentLinkEvent(type=T.PAYMENT_LINK_CREATED, number=number,
                                   provider=link.provider, link_id=link.link_id, url=link.url,
                                   amount=fmt_amount(amount, currency), currency=currency))
    for old_amount, old_currency, _, link_id, url in stale:
        _switch_off(ledger, provider, number, link_id, url, old_amount, old_currency)
    return link.url


def deactivate_links(state: LedgerState, ledger: Ledger, provider: PaymentLinkProvider,
                     settled: Iterable[str]) -> list[str]:
    """Switch off every active link of the settled invoices; the warnings of those that failed."""
    warnings = []
    for number in settled:
        for amount, currency, name, link_id, url in state.links.active(number):
            if name != provider.name:
                continue
            try:
                _switch_off(ledger, provider, number, link_id, url, amount, currency)
            except PaymentLinkError as exc:
                warnings.append(f"{number}: {exc}; it is tried again on the next run")
    return warnings


def _switch_off(ledger: Ledger, provider: PaymentLinkProvider, number: str, link_id: str, url: str,
                amount: str, currency: str) -> None:
    provider.deactivate(link_id)
    ledger.append(PaymentLinkEvent(type=T.PAYMENT_LINK_DEACTIVATED, number=number,
                                   provider=provider.name, link_id=link_id, url=url, amount=amount,
                                   currency=currency))
