"""QuickBooks Online as a receivables source (issue 26), through python-quickbooks and intuit-oauth.

`QuickBooksSource` has the verbs of a sheet source (adapters/sheets.py): `read(today)` asks
the company's open invoices (`select * from Invoice where Balance > '0'`, page by page) and
their customers, and lays them out as the seed sheet's rows, so core/sheets.py checks every
value and the router, templates and draft stores see exactly what a CSV sheet holding the
same invoices would give. Per invoice: `DocNumber` (else its `Id`), the customer's
`DisplayName`, the invoice's `BillEmail` (else the customer's `PrimaryEmailAddr`),
`Balance` (what remains due, less the customer's unapplied credit: `unapplied_credit`),
`CurrencyRef` (else the customer's), `DueDate`, `TxnDate`.

Write-back: none. QuickBooks has no field for a reminder's stage and date (an invoice has
three free custom fields a company may already use, shown only on some forms), so the
journal keeps them (`reminder.drafted`, `facturier reminders`); Facturier only reads from
QuickBooks.

Sign-in: the app's client id and secret from the environment; the token in `token_file`
(outside the workspace, 0600, refused when open to others). Its first refresh token comes
from the environment (`refresh_token_env`, e.g. from Intuit's OAuth 2.0 Playground with the
`com.intuit.quickbooks.accounting` scope only); from then on the file holds it: the access
token is refreshed when it has expired (or QuickBooks answers 401), and the new tokens are
saved at once, since Intuit rotates refresh tokens.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from facturier.adapters import retry_after
from facturier.adapters.sheets import CHECKS, SheetSource, WriteBack
from facturier.adapters.tokens import read_private_token, save_token
from facturier.config.collections import QuickBooksConfig
from facturier.core.errors import FacturierError
from facturier.core.sheets import SheetParse, SheetProblem, find_invoice_row, parse_sheet
from facturier.core.text import printable

SCOPE = "com.intuit.quickbooks.accounting"  # the least Intuit offers for invoices and customers
PAGE_SIZE = 1000  # QuickBooks' largest MAXRESULTS
CUSTOMER_CHUNK = 100  # ids per customer query: its default MAXRESULTS
# Throttled (429: Intuit allows 500 requests a minute per company, shared with other apps) or a
# passing server error: asked again after these waits (seconds) before it is an error.
RETRIED = frozenset({429, 500, 502, 503, 504})
RETRY_WAITS = (2.0, 8.0)
MAX_RETRY_AFTER = 60.0
EXPIRY_MARGIN = 120.0  # seconds: refresh a token about to expire rather than have it refused
INSTALL_HINT = "the QuickBooks libraries are not installed: pip install python-quickbooks intuit-oauth"
REDIRECT_URI = "http://localhost"  # unused by a refresh, but AuthClient wants one
HEADER = ("invoice_id", "client_name", "client_email", "amount", "currency", "due_date", "sent_date", "status")
# Where a sheet column's value comes from in QuickBooks, for the problems.
FIELDS = {"invoice_id": "DocNumber", "client_name": "customer DisplayName",
          "client_email": "BillEmail (or the customer's PrimaryEmailAddr)", "amount": "Balance",
          "currency": "CurrencyRef", "due_date": "DueDate", "sent_date": "TxnDate", "status": "Balance",
          "customer": "CustomerRef"}
# The columns whose value comes from the customer: a customer QuickBooks did not return leaves
# them empty, and that is the one problem to report, not the empty cells it causes.
CUSTOMER_COLUMNS = frozenset({"client_name", "client_email", "currency"})
# The status `show` gives an open invoice its customer's unapplied credit covers (never reminded).
COVERED = "covered by the customer's unapplied credit: no reminder (apply the credit in QuickBooks)"


class QuickBooksError(FacturierError):
    """QuickBooks cannot be reached, refused a request, or answered something unusable."""


class QuickBooksAuthError(QuickBooksError):
    """No usable sign-in: the client id/secret or the token is missing, unsafe or refused."""


def token_path(config: QuickBooksConfig, root: Path) -> Path:
    """The token file: `~` expanded; a relative path is relative to the workspace."""
    path = Path(os.path.expanduser(config.token_file))
    return path if path.is_absolute() else root / path


def read_token(path: Path) -> dict[str, Any] | None:
    """The saved token (None when there is none yet); refused when not a regular file of the
    current user, open to others, or without a refresh token."""
    return read_private_token(path, "the QuickBooks token", QuickBooksAuthError,
                              "delete it and set the refresh token again (docs/collections.md#quickbooks-online)")


def _secret(environ: Mapping[str, str], name: str, key: str, what: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise QuickBooksAuthError(f"the environment variable {name} is not set: it holds {what} "
                                  f"([collections.quickbooks] {key})")
    return value


@dataclass(frozen=True, slots=True)
class Credentials:
    """The app's client id and secret, and the tokens as last saved."""

    client_id: str
    client_secret: str
    access_token: str | None
    refresh_token: str
    expires_at: float

    def expired(self, now: float) -> bool:
        """True when the access token is missing or about to expire."""
        return not self.access_token or self.expires_at - EXPIRY_MARGIN <= now


def load_credentials(config: QuickBooksConfig, root: Path, environ: Mapping[str, str]) -> Credentials:
    """The client id/secret from the environment and the token file (or, before the first
    run, the refresh token from `refresh_token_env`)."""
    client_id = _secret(environ, config.client_id_env, "client_id_env", "the QuickBooks app's client id")
    secret = _secret(environ, config.client_secret_env, "client_secret_env", "the QuickBooks app's client secret")
    path = token_path(config, root)
    data = read_token(path)
    if data is None:
        refresh = environ.get(config.refresh_token_env, "").strip()
        if not refresh:
            raise QuickBooksAuthError(
                f"not signed in to QuickBooks ({path} does not exist): set {config.refresh_token_env} to a "
                f"refresh token of the {SCOPE} scope for the first run (docs/collections.md#quickbooks-online)")
        return Credentials(client_id, secret, None, refresh, 0.0)
    expires = data.get("expires_at")
    return Credentials(client_id, secret, data.get("access_token") or None, data["refresh_token"],
                       float(expires) if isinstance(expires, (int, float)) else 0.0)


def _auth_error(exc: Exception) -> QuickBooksAuthError:
    """A refused token refresh as one line; invalid_grant is the usual case."""
    content = getattr(exc, "content", b"")
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    status = getattr(exc, "status_code", "?")
    if "invalid_grant" in text:
        return QuickBooksAuthError(
            "QuickBooks refused the saved sign-in (invalid_grant): the refresh token was revoked or has "
            "expired (100 days unused); delete the token file and set a new refresh token "
            "(docs/collections.md#quickbooks-online)")
    return QuickBooksAuthError(f"cannot refresh the QuickBooks sign-in: Intuit answered {status}: {text[:200]}")


class QuickBooksSession:
    """The signed-in app: an intuit-oauth `AuthClient` for the tokens, and a python-quickbooks
    client for the accounting API. Every new token is saved before it is used."""

    def __init__(self, config: QuickBooksConfig, root: Path, environ: Mapping[str, str] | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.path = token_path(config, root)
        self._now = now
        self._credentials = load_credentials(config, root, os.environ if environ is None else environ)
        self._auth: Any = None
        self._client: Any = None

    def _auth_client(self) -> Any:
        if self._auth is None:
            try:
                from intuitlib.client import AuthClient
            except ImportError:
                raise QuickBooksError(INSTALL_HINT) from None
            c = self._credentials
            environment = self.config.discovery_url or self.config.environment
            try:  # it reads Intuit's OpenID discovery document, which names the token endpoint
                self._auth = AuthClient(c.client_id, c.client_secret, REDIRECT_URI, environment,
                                        access_token=c.access_token, refresh_token=c.refresh_token,
                                        realm_id=self.config.realm_id)
            except Exception as exc:  # noqa: BLE001 -- requests' and intuitlib's errors, in one line
                raise QuickBooksError(f"cannot reach Intuit's sign-in service: {_oneline(exc)}") from None
        return self._auth

    def refresh(self) -> None:
        """A new access token (and maybe a new refresh token), saved 0600 at once."""
        auth = self._auth_client()
        # Intuit may rotate the refresh token: make sure the new one can be kept before asking.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise QuickBooksAuthError(f"{self.path.parent}: cannot hold the QuickBooks token "
                                      f"({exc.strerror or exc}); [collections.quickbooks] token_file") from None
        if not os.access(self.path.parent, os.W_OK):
            raise QuickBooksAuthError(f"{self.path.parent}: not writable, the refreshed QuickBooks token could not "
                                      "be kept; [collections.quickbooks] token_file")
        try:
            auth.refresh(refresh_token=self._credentials.refresh_token)
        except Exception as exc:  # noqa: BLE001 -- told below
            if hasattr(exc, "status_code"):
                raise _auth_error(exc) from None
            raise QuickBooksError(f"cannot reach Intuit to refresh the sign-in: {_oneline(exc)}") from None
        expires_in = float(auth.expires_in or 3600)
        self._credentials = replace(self._credentials, access_token=auth.access_token,
                                    refresh_token=auth.refresh_token or self._credentials.refresh_token,
                                    expires_at=self._now() + expires_in)
        c = self._credentials
        try:
            save_token(self.path, json.dumps({"access_token": c.access_token, "refresh_token": c.refresh_token,
                                              "expires_at": c.expires_at, "realm_id": self.config.realm_id,
                                              "scope": SCOPE}, indent=1))
        except OSError as exc:
            raise QuickBooksAuthError(f"{self.path}: the refreshed QuickBooks token could not be saved "
                                      f"({exc.strerror or exc}); if the next run is refused, set a new "
                                      "refresh token (docs/collections.md#quickbooks-online)") from None
        self._client = None

    def client(self) -> Any:
        """The python-quickbooks client, with a valid access token."""
        if self._credentials.expired(self._now()):
            self.refresh()
        if self._client is None:
            self._client = _make_client(self.config, self._auth_client())
        return self._client

    def query(self, entity: str, select: str) -> list[Any]:
        """`entity.query(select)`; a 401 refreshes the token once and asks again."""
        try:
            import requests
            from quickbooks import objects
            from quickbooks.exceptions import AuthorizationException, QuickbooksException
        except ImportError:
            raise QuickBooksError(INSTALL_HINT) from None
        kind = getattr(objects, entity)
        for attempt in (1, 2):
            try:
                found: list[Any] = kind.query(select, qb=self.client())
                return found
            except AuthorizationException as exc:
                if attempt == 1 and exc.error_code == 401:
                    self.refresh()
                    continue
                raise QuickBooksAuthError(f"QuickBooks refused the query ({_qb_error(exc)}); check realm_id "
                                          f"{self.config.realm_id} and the {SCOPE} scope") from None
            except QuickBooksError:
                raise  # ours, from signing in: already one clear line
            except QuickbooksException as exc:
                raise QuickBooksError(f"QuickBooks query {select!r} failed: {_qb_error(exc)}") from None
            except (OSError, requests.RequestException) as exc:
                raise QuickBooksError(f"cannot reach QuickBooks: {_oneline(exc)}") from None
            except Exception as exc:  # noqa: BLE001 -- an answer the library could not read
                raise QuickBooksError(f"QuickBooks query {select!r}: an answer that could not be read "
                                      f"({type(exc).__name__}: {_oneline(exc)})") from None
        raise AssertionError("unreachable")


def _make_client(config: QuickBooksConfig, auth: Any) -> Any:
    """A python-quickbooks client on the company, amounts as Decimal, requests with a timeout."""
    try:
        import requests
        from quickbooks import QuickBooks
    except ImportError:
        raise QuickBooksError(INSTALL_HINT) from None

    class Client(QuickBooks):  # type: ignore[misc]  # no types shipped
        def process_request(self, request_type: str, url: str, headers: Any = "", params: Any = "",
                            data: Any = "") -> Any:
            # The bearer header is set here, so the plain requests.Session sends it: with a
            # timeout, and to a loopback test server too (OAuth2Session wants https, which the
            # configuration already requires of any other host: config/collections.py).
            headers.update({"Authorization": "Bearer " + self.session.access_token})
            for wait in (*RETRY_WAITS, None):  # queries only read: asking again is harmless
                response = requests.Session.request(self.session, request_type, url, headers=headers,
                                                    params=params, data=data, timeout=config.timeout)
                if response.status_code not in RETRIED or wait is None:
                    return response
                time.sleep(min(retry_after(response.headers.get("Retry-After"), wait), MAX_RETRY_AFTER))
            raise AssertionError("unreachable")

    client = Client(auth_client=auth, refresh_token=auth.refresh_token, company_id=config.realm_id,
                    minorversion=config.minor_version, use_decimal=True)
    if config.api_base:
        client.api_url_v3 = client.sandbox_api_url_v3 = config.api_base.rstrip("/")
    return client


def _qb_error(exc: Any) -> str:
    detail = _oneline(getattr(exc, "detail", "") or "")
    return f"{exc.error_code}: {exc.message}" + (f" ({detail})" if detail else "")


def _oneline(exc: object) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:300]


# --- the source -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InvoiceProblem(SheetProblem):
    """A problem of one QuickBooks invoice, named by its number and the QuickBooks field."""

    invoice: str = ""

    def __str__(self) -> str:
        # The number is QuickBooks' text: a line break in it must not start a forged line.
        return f"QuickBooks invoice {printable(self.invoice)}: {FIELDS.get(self.column, self.column)}: {self.message}"


class QuickBooksSource(SheetSource):
    """The company's open invoices as the rows of a sheet; nothing is written back."""

    name = "quickbooks"
    write_back_enabled = False

    def __init__(self, session: Callable[[], QuickBooksSession], page_size: int = PAGE_SIZE) -> None:
        self._make_session = session
        self._page_size = page_size
        # What the last read took off invoices for customers' unapplied credit (remind's notes).
        self.credit_notes: tuple[str, ...] = ()

    def read(self, today: date) -> SheetParse:
        """Every invoice with a balance, and its customer, checked as a sheet's rows are."""
        rows, missing = self._rows()
        parsed = parse_sheet([list(HEADER), *rows], sheet=self.name, today=today, checks=CHECKS)
        numbers = {n: str(row[0]) for n, row in enumerate(rows, start=2)}
        problems = [InvoiceProblem(p.sheet, p.row, p.column, _in_quickbooks_terms(p.message), numbers.get(p.row, "?"))
                    for p in parsed.problems
                    if not (p.row - 2 in missing and p.column in CUSTOMER_COLUMNS)]
        for index, customer_id in missing.items():
            row = index + 2
            if any(p.row == row and p.column in CUSTOMER_COLUMNS for p in parsed.problems):
                problems.append(InvoiceProblem(self.name, row, "customer", customer_missing(customer_id),
                                               numbers[row]))
        problems.sort(key=lambda p: p.row)
        return replace(parsed, problems=tuple(problems))

    def cells(self) -> tuple[list[list[Any]], int]:
        """The open invoices laid out as a sheet (header first, on row 1), for `show`."""
        return [list(HEADER), *self._rows(covered=True)[0]], 1

    def find(self, invoice_id: str) -> tuple[int, dict[str, str]] | None:
        """The invoice's row; `problem` names a customer QuickBooks did not return, for `show`."""
        rows, missing = self._rows(covered=True)
        found = find_invoice_row([list(HEADER), *rows], invoice_id, 1)
        if found is not None and found[0] - 2 in missing:
            found[1]["problem"] = customer_missing(missing[found[0] - 2])
        return found

    def where(self) -> str:
        return "QuickBooks Online (open invoices)"

    def _rows(self, covered: bool = False) -> tuple[list[list[Any]], dict[int, str]]:
        """The rows, and (row index -> customer id) for each invoice whose customer QuickBooks did
        not return. A customer's credit left unapplied is taken off its invoices: one it covers
        is not due, and is left out (kept with `covered`, for `show`, with a status saying so)."""
        session = self._make_session()
        invoices = self._open_invoices(session)
        customers = self._customers(session, {_ref(i.CustomerRef) for i in invoices} - {""})
        due, self.credit_notes = unapplied_credit(invoices, customers)
        kept = [(i, due.get(n)) for n, i in enumerate(invoices) if covered or due.get(n, Decimal(1)) > 0]
        missing = {n: _ref(i.CustomerRef) for n, (i, _) in enumerate(kept)
                   if _ref(i.CustomerRef) and _ref(i.CustomerRef) not in customers}
        rows = [invoice_row(i, customers.get(_ref(i.CustomerRef)), balance) for i, balance in kept]
        for row, (_, balance) in zip(rows, kept, strict=True):
            if balance is not None and balance <= 0:
                row[-1] = COVERED
        return rows, missing

    def _open_invoices(self, session: QuickBooksSession) -> list[Any]:
        out: list[Any] = []
        start = 1
        while True:
            page = session.query("Invoice", f"select * from Invoice where Balance > '0' "
                                            f"STARTPOSITION {start} MAXRESULTS {self._page_size}")
            out.extend(page)
            if len(page) < self._page_size:
                return out
            start += self._page_size

    def _customers(self, session: QuickBooksSession, ids: Iterable[str]) -> dict[str, Any]:
        wanted = sorted(ids)
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), CUSTOMER_CHUNK):
            chunk = ", ".join("'" + c.replace("'", "\\'") + "'" for c in wanted[i:i + CUSTOMER_CHUNK])
            for customer in session.query("Customer", f"select * from Customer where Id in ({chunk})"):
                found[str(customer.Id)] = customer
        return found

    def write_back(self, updates: Sequence[WriteBack]) -> list[str]:
        """Nothing: the journal keeps the reminders drafted (module docstring)."""
        return []


def _in_quickbooks_terms(message: str) -> str:
    """A sheet's message about rows as QuickBooks users say it: two invoices share a number."""
    if " is also on row " in message:
        return "another open invoice has the same DocNumber: each reminder names one invoice"
    return message


def customer_missing(customer_id: str) -> str:
    """What to say of an invoice whose customer QuickBooks did not return."""
    return (f"its customer {printable(customer_id)} was not found in QuickBooks (deleted, made inactive or merged "
            "into another), so it has no name or email address to remind; in QuickBooks, make that customer "
            "active again or give the invoice an active customer with an email address, then run remind again")


def _ref(ref: Any) -> str:
    return str(getattr(ref, "value", "") or "") if ref is not None else ""


def _address(email: Any) -> str:
    return str(getattr(email, "Address", "") or "") if email is not None else ""


def _decimal(value: Any) -> Decimal | None:
    """A QuickBooks amount as a Decimal (None when missing or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def unapplied_credit(invoices: Sequence[Any],
                     customers: Mapping[str, Any]) -> tuple[dict[int, Decimal], tuple[str, ...]]:
    """What remains due on the invoices of customers holding credit QuickBooks has not applied.

    An invoice's `Balance` counts only the payments and credit memos applied to it; a credit
    memo or payment left unapplied lowers the customer's `Balance` (its open balance) instead.
    When a customer's open invoices add up to more than its `Balance`, the difference is such
    credit: it is taken off the customer's invoices oldest due first, as the ledger's credit
    pool is (an invoice it covers is due no more). Returns (invoice index -> what remains) for
    the invoices it changes, and one note per customer saying so.
    """
    by_customer: dict[str, list[int]] = {}
    for n, invoice in enumerate(invoices):
        by_customer.setdefault(_ref(invoice.CustomerRef), []).append(n)
    due: dict[int, Decimal] = {}
    notes = []
    for customer_id, indexes in sorted(by_customer.items()):
        customer = customers.get(customer_id)
        open_balance = _decimal(getattr(customer, "Balance", None)) if customer is not None else None
        balances = {n: _decimal(invoices[n].Balance) for n in indexes}
        currencies = {_ref(getattr(invoices[n], "CurrencyRef", None)) for n in indexes} - {""}
        if (open_balance is None or open_balance < 0 or any(b is None for b in balances.values())
                or len(currencies) > 1):
            continue  # nothing to go by (a customer's invoices are in its one currency)
        credit = sum((b for b in balances.values() if b is not None), Decimal(0)) - open_balance
        if credit <= 0:
            continue
        touched = []
        for n in sorted(indexes, key=lambda k: (str(invoices[k].DueDate or ""), str(invoices[k].TxnDate or ""))):
            if credit <= 0:
                break
            balance = balances[n] or Decimal(0)
            taken = min(balance, credit)
            due[n], credit = balance - taken, credit - taken
            touched.append(str(invoices[n].DocNumber or "") or str(invoices[n].Id))
        name = printable(str(getattr(customer, "DisplayName", "") or customer_id))
        currency = printable(next(iter(currencies), "") or _ref(getattr(customer, "CurrencyRef", None)))
        notes.append(f"QuickBooks customer {name} holds credit not applied to an invoice (a credit memo or a payment "
                     f"left unapplied: its open balance is {open_balance} {currency}, its open invoices add up to "
                     f"more); it is "
                     f"taken off {', '.join(printable(t) for t in touched)} (oldest due first): apply it in "
                     "QuickBooks so that both agree")
    return due, tuple(notes)


def invoice_row(invoice: Any, customer: Any, balance: Decimal | None = None) -> list[str]:
    """An open invoice as the seed sheet's row (HEADER's columns), status "open": it is a
    receivable once past its due date, as an open row of a sheet is. `balance` replaces the
    invoice's `Balance` (after the customer's unapplied credit)."""
    name = getattr(customer, "DisplayName", "") if customer is not None else ""
    if not name and getattr(invoice, "CustomerRef", None) is not None:
        name = getattr(invoice.CustomerRef, "name", "")
    email = _address(getattr(invoice, "BillEmail", None)) or _address(getattr(customer, "PrimaryEmailAddr", None))
    currency = _ref(getattr(invoice, "CurrencyRef", None)) or _ref(getattr(customer, "CurrencyRef", None))
    number = str(invoice.DocNumber or "") or str(invoice.Id)
    balance = invoice.Balance if balance is None else balance
    return [number, str(name or ""), email, "" if balance is None else str(balance), currency,
            str(invoice.DueDate or ""), str(invoice.TxnDate or ""), "open"]


def open_quickbooks_source(config: Any, root: Path, environ: Mapping[str, str] | None = None) -> QuickBooksSource:
    """The source `[collections] source = "quickbooks"` names; it signs in when first read."""
    qb = config.collections.quickbooks
    if qb is None:
        raise QuickBooksError('source = "quickbooks" needs a [collections.quickbooks] table')
    return QuickBooksSource(lambda: QuickBooksSession(qb, root, environ))


def quickbooks_warnings(config: Any, root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """What `check` says about the QuickBooks sign-in (no network: `remind --dry-run` tries it)."""
    qb = config.collections.quickbooks
    if config.collections.source != "quickbooks" or qb is None:
        return []
    env = os.environ if environ is None else environ
    unset = [f"collections.quickbooks.{key}: the environment variable {name} is not set here: remind will fail "
             "until it is (cron jobs need it in their environment)"
             for key, name in (("client_id_env", qb.client_id_env), ("client_secret_env", qb.client_secret_env))
             if not env.get(name)]
    try:
        path = token_path(qb, root)
        if read_token(path) is None and not env.get(qb.refresh_token_env):
            return [*unset, (f"collections.quickbooks.token_file: not signed in to QuickBooks ({path} does not "
                             f"exist and {qb.refresh_token_env} is not set); docs/collections.md#quickbooks-online")]
    except QuickBooksAuthError as exc:
        return [*unset, f"collections.quickbooks.token_file: {exc}"]
    return unset
