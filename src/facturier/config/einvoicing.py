"""`[einvoicing]`: the accredited platform (PA) a seller transmits its e-invoices through.

The keys are PRODUCT.md §13's. `facturier.toml` has the issuer's; a batch client file may
have its own (a seller transmits its own invoices through its own PA account); a batch
client without one is never transmitted by Facturier. Secrets (the OAuth2 client id and
secret) are read from the environment variables named here, never from a file.

`numbering_problems` is the reform's rule on document numbers (at most 35 characters, only
letters, digits, space and `-+_/`), checked on every template a transmitting seller uses.
"""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from facturier.config.fields import NonEmptyStr, StrictModel
from facturier.config.mail import EnvName, is_loopback
from facturier.config.pricing import Day
from facturier.core.numbering import render_number

EInvoicingMode = Literal["off", "test", "live"]
REFORM_DATE = date(2027, 9, 1)  # SMEs and micro-enterprises issue through a PA from this day
MAX_REFORM_NUMBER = 35
# Patterns as text, compiled by `re` (and cached there) at their first use: a configuration read
# from its cache validates nothing and compiles none of them (issue 23, start-up).
_REFORM_CHARS = r"[A-Za-z0-9 +_/-]*"
# The longest sequence a template is checked with: the same 9 digits as the file-name rule.
_WORST_SEQ = 999_999_999


# What a user copies from a platform's documentation instead of its base URL: a service's own path.
_SERVICE_PATHS = ("/afnor-flow/v1", "/afnor-directory/v1")


def check_platform_url(value: str, base: bool = True) -> str:
    """An https URL (plain http only to a loopback test platform: the token travels to it),
    without credentials in it, and the base URL rather than one service's URL."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise ValueError("is not a URL (its host or port cannot be read)") from None
    if "@" in parts.netloc:  # never repeated: the part before @ may be a password
        raise ValueError("has a user name or password in it (user@host); the URL is not repeated here in case "
                         "it holds a secret: remove it, credentials go in the environment variables named by "
                         "client_id_env and client_secret_env")
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if parts.scheme != "https" and not is_loopback(host):
        raise ValueError(f"{value!r}: the platform's token would travel in clear; use https "
                         "(plain http only to a loopback test platform)")
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: a base URL has no ?query or #fragment")
    service = next((p for p in _SERVICE_PATHS if p in parts.path.lower()), None) if base else None
    if service is not None:
        raise ValueError(f"{value!r} is the URL of one service ({service}): give the platform's base URL, "
                         f"without {service} (Facturier adds /afnor-flow/v1 and /afnor-directory/v1 itself)")
    return value.rstrip("/")


def check_platform_id(value: str) -> str:
    """The platform's registration number: exactly 4 letters or digits."""
    if not re.fullmatch(r"[A-Za-z0-9]{4}", value):
        raise ValueError(f"{value!r} is not a platform registration number (exactly 4 letters or digits, "
                         "as your platform gives it)")
    return value


class EInvoicingConfig(StrictModel):
    """One PA account: where its AFNOR XP Z12-013 API is and which credentials it takes."""

    mode: EInvoicingMode = "off"
    api_url: NonEmptyStr | None = Field(default=None, validate_default=True)
    token_url: NonEmptyStr | None = Field(default=None, validate_default=True)
    client_id_env: EnvName = "FACTURIER_PA_CLIENT_ID"
    client_secret_env: EnvName = "FACTURIER_PA_CLIENT_SECRET"
    # Documents dated before this day are never transmitted (they were issued by email,
    # legally, before the reform applied to the seller).
    since: Day = REFORM_DATE
    # E-reporting (Flux 10): the platform's 4-character registration number (its "matricule",
    # which it gives its users), and the length of a reporting period: "bimonthly" for a
    # seller in franchise en base, "monthly" otherwise (the default follows the VAT regime),
    # "ten-day" under the réel normal mensuel (ops/einvoicing/periods.py).
    # The invoice email (PDF attached) of a document the platform delivers: a courtesy copy,
    # sent under the usual send rules unless this is false.
    courtesy_email: bool = True
    platform_id: Annotated[str, AfterValidator(check_platform_id)] | None = None
    ereporting: Literal["monthly", "bimonthly", "ten-day"] | None = None

    @field_validator("api_url", "token_url", mode="after")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Required when the mode is not off; an https URL (http to loopback only)."""
        if value is None:
            if info.data.get("mode", "off") != "off":
                raise ValueError(f'required when mode = "{info.data.get("mode")}"')
            return None
        return check_platform_url(value, base=info.field_name == "api_url")

    @property
    def on(self) -> bool:
        """Whether documents are transmitted through this account."""
        return self.mode != "off"


def reform_number_problem(template: str, client_ids: list[str]) -> str | None:
    """Why a numbering template can give a number the reform forbids, or None.

    The sample is the template's longest number: a 9-digit sequence, a two-digit month and
    the longest client id of the workspace (documents of the TEST- series are never sent).
    """
    longest = max(client_ids, key=len, default="c")
    sample = render_number(template, issue_date=date(2027, 12, 1), client=longest, seq=_WORST_SEQ,
                           test=False)
    if len(sample) > MAX_REFORM_NUMBER:
        return (f"{template!r} can give {sample!r}, {len(sample)} characters: an e-invoice number has at "
                f"most {MAX_REFORM_NUMBER} (French reform); shorten the template")
    bad = sorted({ch for ch in sample if not re.fullmatch(_REFORM_CHARS, ch)})
    if bad:
        return (f"{template!r} uses {''.join(bad)!r}: an e-invoice number may only use letters, digits, "
                "space and - + _ / (French reform)")
    return None


def einvoicing_checks(config: object, batch: dict[str, object], clients: dict[str, Any]
                      ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(problems, warnings) as (file, key, message): every numbering template of a seller that
    transmits must give numbers the reform accepts (a warning while its mode is off); a French
    business client without a SIREN is a warning while the issuer transmits."""
    from facturier.config.clients import BatchClientConfig
    from facturier.config.models import FacturierConfig

    problems: list[tuple[str, str, str]] = []
    warnings: list[tuple[str, str, str]] = []
    templates: list[tuple[str, str, str, bool]] = []
    if isinstance(config, FacturierConfig):
        on = config.einvoicing.on
        templates += [("facturier.toml", "numbering.invoice", config.numbering.invoice, on),
                      ("facturier.toml", "numbering.credit_note", config.numbering.credit_note, on)]
    for batch_id, seller in sorted(batch.items()):
        if isinstance(seller, BatchClientConfig):
            on = seller.einvoicing is not None and seller.einvoicing.on
            templates.append((f"batch_clients/{batch_id}.toml", "numbering", seller.numbering, on))
    if isinstance(config, FacturierConfig) and config.einvoicing.on:
        no_siren = ("a business client in France without a SIREN: its invoices cannot be transmitted to the "
                    "platform (an e-invoice must carry the buyer's SIREN)")
        warnings += [(f"clients/{cid}.toml", "siren", no_siren)
                     for cid, client in sorted(clients.items())
                     if client.country == "FR" and client.business and client.siren is None and client.active]
    for file, key, template, on in templates:
        problem = reform_number_problem(template, sorted(clients))
        if problem and on:
            problems.append((file, key, problem))
        elif problem:
            warnings.append((file, key, problem + ' (a problem once [einvoicing] mode is not "off")'))
    return problems, warnings


def unset_platform_secrets(config: object, batch: dict[str, object]) -> list[tuple[str, str, str]]:
    """(file, key, message) per PA credential variable that is not set here, for every seller
    that transmits (the variable's value is never shown)."""
    import os

    from facturier.config.clients import BatchClientConfig
    from facturier.config.models import FacturierConfig

    accounts: list[tuple[str, EInvoicingConfig | None]] = []
    if isinstance(config, FacturierConfig):
        accounts.append(("facturier.toml", config.einvoicing))
    accounts += [(f"batch_clients/{bid}.toml", seller.einvoicing) for bid, seller in sorted(batch.items())
                 if isinstance(seller, BatchClientConfig)]
    found = []
    for file, account in accounts:
        if account is None or not account.on:
            continue
        for key in ("client_id_env", "client_secret_env"):
            name = getattr(account, key)
            if not os.environ.get(name):
                message = (f"the environment variable {name} is not set here: transmit, statuses and "
                           "ereport will fail until it is (cron jobs need it in their environment)")
                found.append((file, f"einvoicing.{key}", message))
    return found
