"""The `[collections]` section: reminder stages, dry run, window, and where drafts go.

The rules themselves live in `core/dunning.py`; this module only validates what the user
wrote, reusing the core's parsers so `check` and `remind` can never disagree on a window or
a list of stages.
"""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from facturier.config.fields import Country, Money, NonEmptyStr, Quantity, StrictModel
from facturier.config.mail import EnvName, is_loopback, plain_text_only_on_loopback
from facturier.core.errors import InputError

if TYPE_CHECKING:
    from facturier.core.dunning import Window

# core.dunning is imported by the validators and methods that use it, not here: a configuration
# read back from its cache runs no validator, and `pay` or `balances` never import it (issue 23).
# The drafting window when none is set (read as a Window by core.dunning only when a command drafts).
DEFAULT_WINDOW = "08:00-18:00"

DraftStoreName = Literal["outbox", "imap", "gmail"]
SourceName = Literal["ledger", "csv", "sheets", "quickbooks"]
# The sources whose receivables are rows from outside the ledger (core/sheets.py's schema).
EXTERNAL_SOURCES = ("csv", "sheets", "quickbooks")
QUICKBOOKS_TOKEN_FILE = "~/.config/facturier/quickbooks-token.json"


def check_penalty_rate(rate: Decimal) -> Decimal:
    """A yearly late-payment penalty rate in percent, above 0 and at most 100."""
    if not Decimal(0) < rate <= Decimal(100):
        raise ValueError(f"a yearly rate in percent above 0 and at most 100, e.g. \"12.15\", got {rate}")
    return rate
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


def check_window_text(text: str) -> str:
    """A drafting window like "08:00-18:00" (local time in the workspace time zone)."""
    from facturier.core.dunning import parse_window

    try:
        parse_window(text)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return text


def check_source_path(text: str) -> str:
    """A CSV sheet inside the workspace: relative, never `..` (it is written back)."""
    path = PurePath(text)
    if path.is_absolute() or ".." in path.parts or text.startswith("~"):
        raise ValueError(f"{text!r} is outside the workspace: give the sheet's path relative to the workspace, "
                         "inside it (e.g. \"invoices.csv\"); the file is written back, so it must be yours")
    return text


def check_stage_list(stages: list[int]) -> list[int]:
    """Days after the due date, strictly increasing (core.dunning.check_stages)."""
    from facturier.core.dunning import check_stages

    return list(check_stages(stages))


def default_stages() -> list[int]:
    """core.dunning.DEFAULT_STAGES, imported when a configuration without `stages` is validated."""
    from facturier.core.dunning import DEFAULT_STAGES

    return list(DEFAULT_STAGES)


class ImapConfig(StrictModel):
    """The IMAP server whose Drafts mailbox receives reminders; the password is never here."""

    host: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: NonEmptyStr
    password_env: EnvName
    # Only when the server does not flag its drafts folder with \Drafts (RFC 6154).
    mailbox: NonEmptyStr | None = None
    timeout: Annotated[int, Field(ge=1, le=600)] = 30

    _loopback = field_validator("security", mode="after")(plain_text_only_on_loopback)


    def effective_port(self) -> int:
        """The port set, else 993 for ssl and 143 for starttls or none."""
        return self.port if self.port is not None else IMAP_PORTS[self.security]


class SlackConfig(StrictModel):
    """`[collections.slack]`: an incoming webhook told of drafted reminders at or above both
    thresholds. The webhook URL is a secret: only its environment variable's name is here."""

    webhook_env: EnvName
    min_stage: Annotated[int, Field(ge=1, le=3650)] = 28
    min_amount: Money = Decimal(0)


PaymentProvider = Literal["template", "stripe"]


def check_link_template(text: str) -> str:
    """A URL template with only {number}, {amount} and {currency} placeholders."""
    if not text.startswith(("https://", "http://")):
        raise ValueError(f"{text!r} is not a URL template like \"https://pay.example/{{number}}?amount={{amount}}\"")
    try:
        text.format(number="x", amount="1", currency="EUR")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{text!r}: only {{number}}, {{amount}} and {{currency}} may be used ({exc})") from None
    return text


class PaymentLinkConfig(StrictModel):
    """`[collections.payment_link]`: a link in each reminder, from a URL template or Stripe."""

    provider: PaymentProvider
    url: Annotated[str, AfterValidator(check_link_template)] | None = Field(default=None, validate_default=True)
    secret_key_env: EnvName = "STRIPE_SECRET_KEY"
    # Only to point the Stripe library at another API base (a test server on loopback): the
    # secret key travels to it, so it must be https to Stripe's host, or a loopback address,
    # or another https host the user vouches for (`api_base_trusted = true`).
    api_base: NonEmptyStr | None = None
    api_base_trusted: bool = Field(default=False, validate_default=True)

    @field_validator("api_base", mode="after")
    @classmethod
    def _safe_api_base(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        loopback = is_loopback(host)
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if parts.scheme != "https" and not loopback:
            raise ValueError(f"{value!r}: the secret key would travel in clear; use https "
                             "(plain http only to a loopback test server)")
        return value

    @field_validator("api_base_trusted", mode="after")
    @classmethod
    def _known_api_host(cls, trusted: bool, info: ValidationInfo) -> bool:
        base = info.data.get("api_base")
        host = (urlsplit(base).hostname or "").lower() if isinstance(base, str) else ""
        if base and not trusted and not is_loopback(host) and host != "api.stripe.com":
            raise ValueError(f"api_base {base!r} is not Stripe's API (api.stripe.com): the secret key "
                             "would be sent there; set api_base_trusted = true if you mean it")
        return trusted

    @field_validator("url", mode="after")
    @classmethod
    def _url_needed(cls, url: str | None, info: ValidationInfo) -> str | None:
        """provider = "template" needs its URL template."""
        if url is None and info.data.get("provider") == "template":
            raise ValueError('required when provider = "template", e.g. '
                             '"https://pay.example/{number}?amount={amount}&currency={currency}"')
        return url


def check_intuit_url(value: str | None) -> str | None:
    """An endpoint the client secret and tokens travel to: https to an Intuit host, or a
    loopback test server (plain http allowed there only)."""
    if value is None:
        return value
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if is_loopback(host):
        return value
    if parts.scheme != "https" or not (host == "intuit.com" or host.endswith(".intuit.com")):
        raise ValueError(f"{value!r}: the QuickBooks tokens would be sent there; only https to an "
                         "intuit.com host, or a loopback test server, is allowed")
    return value


class QuickBooksConfig(StrictModel):
    """`[collections.quickbooks]`: the QuickBooks Online company whose open invoices are the
    receivables. The app's client id and secret come from the environment; the token is kept
    in `token_file` (outside the workspace, 0600), refreshed and saved as Intuit rotates it."""

    realm_id: Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]
    environment: Literal["production", "sandbox"] = "production"
    client_id_env: EnvName = "QUICKBOOKS_CLIENT_ID"
    client_secret_env: EnvName = "QUICKBOOKS_CLIENT_SECRET"
    # Read only while token_file does not exist yet: the first sign-in's refresh token.
    refresh_token_env: EnvName = "QUICKBOOKS_REFRESH_TOKEN"
    token_file: NonEmptyStr = QUICKBOOKS_TOKEN_FILE
    minor_version: Annotated[int, Field(ge=75, le=999)] = 75
    timeout: Annotated[int, Field(ge=1, le=600)] = 60
    # Only to point the libraries at a loopback test server: the accounting API base (".../v3")
    # and the OpenID discovery document that names the token endpoint.
    api_base: Annotated[str | None, AfterValidator(check_intuit_url)] = None
    discovery_url: Annotated[str | None, AfterValidator(check_intuit_url)] = None


class CollectionsConfig(StrictModel):
    """`[collections]` of facturier.toml. Dry run unless the user turns it off."""

    enabled: bool = True
    dry_run: bool = True
    stages: Annotated[list[int], AfterValidator(check_stage_list)] = Field(
        default_factory=default_stages)
    window: Annotated[str, AfterValidator(check_window_text)] = DEFAULT_WINDOW
    drafts: DraftStoreName = "outbox"
    combine: bool = False
    # The last stage attaches a formal notice ("mise en demeure") PDF; its accrued penalties
    # need the yearly rate as a number (late_penalty of [terms] is only printed text).
    formal_notice: bool = False
    penalty_rate: Annotated[Quantity, AfterValidator(check_penalty_rate)] | None = Field(
        default=None, validate_default=True)
    imap: ImapConfig | None = Field(default=None, validate_default=True)
    # Where receivables come from: the ledger (default) or an external sheet (seed 003).
    source: SourceName = "ledger"
    source_path: Annotated[NonEmptyStr, AfterValidator(check_source_path)] | None = None
    spreadsheet_id: NonEmptyStr | None = None
    range: NonEmptyStr = "Invoices!A1:Z"
    write_back: bool = True
    skip_bad_rows: bool = False
    # source = "sheets": a tab of the same spreadsheet that gets one row per draft (issue 26).
    log_tab: NonEmptyStr | None = None
    quickbooks: QuickBooksConfig | None = None
    # What a sheet row is when it has no `language` / `country` / `business` column: English,
    # country unknown (so no French late-payment mentions), a business.
    language: Literal["fr", "en"] = "en"
    country: Country | None = None
    business: bool = True
    slack: SlackConfig | None = None
    payment_link: PaymentLinkConfig | None = None

    @field_validator("penalty_rate", mode="after")
    @classmethod
    def _rate_needed(cls, rate: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """formal_notice = true computes the penalties accrued, so it needs the rate."""
        if rate is None and info.data.get("formal_notice"):
            raise ValueError('required when formal_notice = true: the yearly late-payment penalty rate in '
                             'percent, e.g. "12.15" (penalties accrued are computed with it)')
        return rate

    @field_validator("imap", mode="after")
    @classmethod
    def _imap_needed(cls, imap: ImapConfig | None, info: ValidationInfo) -> ImapConfig | None:
        """drafts = "imap" needs a server."""
        if imap is None and info.data.get("drafts") == "imap":
            raise ValueError('required when drafts = "imap" (a [collections.imap] table with host, '
                             'username and password_env)')
        return imap

    @model_validator(mode="after")
    def _source_settings(self) -> "CollectionsConfig":
        """source = "csv" needs source_path; source = "sheets" needs spreadsheet_id."""
        if self.source == "csv" and not self.source_path:
            raise ValueError('source = "csv" needs source_path (the CSV file, relative to the workspace)')
        if self.source == "sheets" and not self.spreadsheet_id:
            raise ValueError('source = "sheets" needs spreadsheet_id (the id in the sheet\'s URL)')
        if self.source == "quickbooks" and self.quickbooks is None:
            raise ValueError('source = "quickbooks" needs a [collections.quickbooks] table with realm_id '
                             '(the company id of QuickBooks Online)')
        if self.log_tab is not None and self.source != "sheets":
            raise ValueError('log_tab is a tab of the Google Sheet source: it needs source = "sheets"')
        return self

    @property
    def external_source(self) -> bool:
        """Whether receivables come from outside the ledger (a sheet, QuickBooks)."""
        return self.source in EXTERNAL_SOURCES

    def drafting_window(self) -> "Window":
        """The window parsed (it was validated when the file was read)."""
        from facturier.core.dunning import parse_window

        return parse_window(self.window)

    def notice(self) -> str | None:
        """What `check` and `remind` say about this section: switched off, or only previewing."""
        if not self.enabled:
            return "collections are off ([collections] enabled = false): remind drafts nothing"
        if self.dry_run:
            return ("collections are in dry run ([collections] dry_run = true): remind previews the "
                    "reminders and drafts nothing until you set it to false")
        return None

    def stage_tuple(self) -> tuple[int, ...]:
        return tuple(self.stages)


class ClientCollections(StrictModel):
    """`[collections]` of a client file: `enabled = false` stops every reminder to it."""

    enabled: bool = True
