"""Warnings where a client's VAT settings do not fit its situation (`check`).

Each would print a legal mention that is wrong for that client, or leave one out; they are
warnings, not problems, so that a workspace that issued such invoices keeps working while
its owner corrects the client file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facturier.config.clients import BatchClientConfig, ClientConfig
    from facturier.config.models import FacturierConfig

CLIENTS_DIR = "clients"
BATCH_CLIENTS_DIR = "batch_clients"


def vat_situation_warnings(config: FacturierConfig | None, clients: dict[str, ClientConfig],
                           batch: dict[str, BatchClientConfig] | None = None) -> list[tuple[str, str, str]]:
    """(file, key, message) for each live client whose VAT settings misstate its invoices."""
    if config is None:
        return []
    found = []
    for batch_id, seller in sorted((batch or {}).items()):
        if (seller.mode == "live" and seller.currency != "EUR" and seller.country == "FR"
                and seller.vat_regime == "standard"):
            found.append((f"{BATCH_CLIENTS_DIR}/{batch_id}.toml", "currency", (
                f"an invoice in {seller.currency} with VAT must also state its VAT in euros (VAT Directive "
                "art. 230; Factur-X BT-6 and BT-111), and Facturier has no exchange rate for a batch "
                f"seller: its invoices with VAT state it in {seller.currency} only")))
    for client_id, client in sorted(clients.items()):
        if client.mode != "live":
            continue
        for key, message in _client_warnings(config, client):
            found.append((f"{CLIENTS_DIR}/{client_id}.toml", key, message))
    return found


def _client_warnings(config: FacturierConfig, client: ClientConfig) -> list[tuple[str, str]]:
    """The warnings of one client, as (key, message)."""
    from facturier.core.invoice import EU_COUNTRIES  # at the first warning check, not at import

    issuer = config.issuer
    regime, country = client.effective_vat_regime(issuer), client.country.upper()
    category = client.operation_category or issuer.operation_category
    warnings = []
    if (regime == "standard" and client.currency != "EUR" and issuer.country == "FR"
            and client.currency not in config.accounting.exchange_rates):
        warnings.append(("currency", (
            f"an invoice in {client.currency} with VAT must also state its VAT in euros (VAT Directive "
            f"art. 230; Factur-X BT-6 and BT-111): set [accounting] exchange_rates = "
            f'{{ {client.currency} = "..." }} in facturier.toml (euros for 1 {client.currency}); '
            "until then its VAT is stated in its currency only")))
    if regime == "exempt" and country == issuer.country:
        warnings.append(("vat_regime", (
            f'"exempt" prints an exemption for a client outside {issuer.country} (services: art. 259-1 '
            f"du CGI; goods: the export exemption), which a client in {country} cannot have: its "
            "invoices would show no VAT where VAT is due")))
    elif regime == "exempt" and country in EU_COUNTRIES and client.business:
        what = "goods to" if category == "goods" else "services to"
        warnings.append(("vat_regime", (
            f'{what} a business of another EU state are not "exempt" but "reverse_charge" (with its '
            "vat_id): its invoices must carry the buyer's VAT number and the reverse-charge or "
            "intra-community supply mention")))
    if regime == "reverse_charge" and not issuer.vat_id:
        warnings.append(("vat_regime", (
            "a reverse charge or intra-community supply prints both VAT numbers, and the issuer has "
            "none ([issuer] vat_id): a seller in franchise en base selling to a business of another "
            "EU state must get one (art. 286 ter du CGI) and print it")))
    return warnings
