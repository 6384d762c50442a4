"""Which sellers transmit through a platform, and the platform client of each."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facturier.config.einvoicing import EInvoicingConfig
from facturier.core.errors import FacturierError
from facturier.ops.outcome import Alert, Report

if TYPE_CHECKING:
    from facturier.adapters.pa import Platform
    from facturier.config import Workspace


@dataclass(frozen=True, slots=True)
class Account:
    """A seller ("issuer" or a batch client id) with the platform account it transmits through."""

    seller: str
    config: EInvoicingConfig
    file: str  # where its [einvoicing] is, for messages

    @property
    def mode(self) -> str:
        """The platform mode it transmits in ("test" | "live"): the journal's e-invoicing entries
        say it, and the state reads the facts of this mode only."""
        return self.config.mode

    def platform(self) -> Platform:
        """The platform client, with the credentials read from the environment now."""
        from facturier.adapters.pa import Credentials, Platform  # requests: only when talking to it

        values = []
        for key in ("client_id_env", "client_secret_env"):
            name = getattr(self.config, key)
            value = os.environ.get(name)
            if not value:
                raise FacturierError(f"{self.file}: einvoicing.{key}: the environment variable {name} is not "
                                     "set: nothing was sent; set it and run again")
            values.append(value)
        assert self.config.api_url is not None and self.config.token_url is not None  # required when on
        return Platform(self.config.api_url, self.config.token_url, Credentials(values[0], values[1]))


def account_of(ws: Workspace, seller: str) -> Account | None:
    """The account a seller transmits through, or None (its mode is off, or it has none)."""
    if seller == "issuer":
        config: EInvoicingConfig | None = ws.config.einvoicing
        file = "facturier.toml"
    else:
        batch = ws.batch_clients.get(seller)
        config = batch.einvoicing if batch is not None else None
        file = f"batch_clients/{seller}.toml"
    return Account(seller, config, file) if config is not None and config.on else None


def platform_mode(ws: Workspace, seller: str) -> str:
    """The platform mode whose facts count for a seller now: its `[einvoicing] mode`, or "live"
    when it is off (the real platform's word, whatever a rehearsal said)."""
    account = account_of(ws, seller)
    return "live" if account is None else account.mode


def transmitting_accounts(ws: Workspace) -> list[Account]:
    """Every seller whose mode is not off: the issuer first, then batch clients by id."""
    sellers = ["issuer", *sorted(ws.batch_clients)]
    return [a for a in (account_of(ws, s) for s in sellers) if a is not None]


def each_seller(accounts: Iterable[Account], work: Callable[[Account], None], report: Report, after: str) -> None:
    """`work` for each seller in turn; a platform that fails or refuses, or a bad input, stops
    that seller alone, as an error alert ending with `after` (what is retried, and when)."""
    from facturier.adapters.pa import PlatformError

    for account in accounts:
        try:
            work(account)
        except (PlatformError, FacturierError) as exc:
            where = f"{account.file}: " if isinstance(exc, PlatformError) else ""
            report.alerts.append(Alert("error", f"{where}{exc}. {after}"))
