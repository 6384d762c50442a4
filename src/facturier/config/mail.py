"""The `[mail]` section: how emails leave (outbox, SMTP or Gmail) and who they come from."""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from facturier.config.fields import Email, NonEmptyStr, StrictModel, check_email

# Patterns as text, compiled by `re` (and cached there) at their first use: a configuration read
# from its cache validates nothing and compiles none of them (issue 23, start-up).
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.x.x.x and ::1: the only hosts plain-text SMTP may use."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_text_only_on_loopback(security: str, info: ValidationInfo) -> str:
    """`security = "none"` only for a loopback host: credentials never cross a network unencrypted."""
    host = info.data.get("host")
    if security == "none" and host is not None and not is_loopback(host):
        raise ValueError(f'"none" is only allowed for a loopback host, not {host!r}')
    return security


# Prefixes of API keys and tokens that are valid identifiers, so the name rule alone lets them
# through: Stripe (secret, restricted, publishable, webhook), Slack, GitHub, GitLab, AWS, Google.
_SECRET_PREFIXES = ("sk_", "rk_", "pk_", "whsec_", "xox", "ghp_", "gho_", "ghu_", "ghs_", "github_pat_",
                    "glpat", "AKIA", "ASIA", "AIza")
_CONVENTIONAL_ENV_NAME = r"[A-Z_][A-Z0-9_]*"


def looks_like_a_secret(value: str) -> bool:
    """Whether a value given as an environment variable's name looks like a key instead: a
    known key prefix, or random-looking (digits with lowercase letters, over 20 characters,
    or with both cases, over 16; or 4 digits and more in 8 characters and more, without a _
    between words). Names are words: `FACTURIER_SMTP_PASSWORD`."""
    if value.startswith(_SECRET_PREFIXES):
        return True
    lower, upper, digit = (any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    if digit and lower and (len(value) >= 20 or (upper and len(value) >= 16)):
        return True
    return "_" not in value and len(value) >= 8 and sum(c.isdigit() for c in value) >= 4


def env_label(name: str, key: str) -> str:
    """How a message names the environment variable `key` reads: by its name when it is a
    conventional one (capitals, digits, _), else without it, since a lowercase "name" may be
    the password itself typed in the wrong key."""
    if re.fullmatch(_CONVENTIONAL_ENV_NAME, name):
        return f"the environment variable {name}"
    return f"the environment variable that {key} names (not shown, in case it is the secret itself)"


def parse_env_name(value: Any) -> str:
    """An environment variable name; anything else may be the password typed here by mistake.

    So the value is never repeated in the message: `check` output ends up in logs, alert
    emails and terminals that others can read. A value that is a valid name but looks like a
    key (`sk_live_...`) is refused the same way: it would be echoed as a name otherwise.
    """
    if isinstance(value, str) and re.fullmatch(_ENV_NAME, value) and not looks_like_a_secret(value):
        return value
    if isinstance(value, str) and re.fullmatch(_ENV_NAME, value):
        raise ValueError(
            "looks like a key or a password, not the name of an environment variable (the value "
            "is not shown): this key must name an environment variable, like FACTURIER_SMTP_PASSWORD, "
            "that holds the secret; remove the secret from this file (and from its history if committed)"
        )
    raise ValueError(
        "is not an environment variable name (letters, digits and _, not starting with a "
        "digit); the value is not shown in case it is the password itself: put the password "
        "in an environment variable and write that variable's name here"
    )


EnvName = Annotated[str, PlainValidator(parse_env_name)]


class SmtpConfig(StrictModel):
    """SMTP server settings; the password comes from the environment or a 0600 file, never here."""

    host: NonEmptyStr
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: NonEmptyStr | None = None
    password_env: EnvName | None = None
    password_file: NonEmptyStr | None = None
    timeout: Annotated[int, Field(ge=1, le=600)] = 30

    _loopback = field_validator("security", mode="after")(plain_text_only_on_loopback)


    @model_validator(mode="after")
    def _one_password_source(self) -> "SmtpConfig":
        """A username needs exactly one place to read the password from."""
        if self.password_env and self.password_file:
            raise ValueError("set password_env or password_file, not both")
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("username is set: also set password_env or password_file")
        return self


_NAME_ADDR = r"(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>"
# Outside quotes these split or end a display name: "A, B <a@b.example>" is two addresses.
_SPECIALS = r'[,;:@"()\[\]\\<>]'
_QUOTED = r'"(?:[^"\\]|\\.)*"'


def check_sender(value: str) -> str:
    """A sender like `Name <address>` or a bare address: exactly one mailbox in a From header."""
    like = f"{value!r} is not an address like \"Name <billing@example.com>\""
    if "@" not in value:
        raise ValueError(like)
    match = re.fullmatch(_NAME_ADDR, value)
    if match is None:
        if "<" in value or ">" in value:
            raise ValueError(like)
        return check_email(value)
    name = match["name"].strip()
    if not name:
        raise ValueError(f"{value!r} has no name before <...>: write "
                         f"\"{match['address']}\" or \"Name <{match['address']}>\"")
    if not re.fullmatch(_QUOTED, name) and re.search(_SPECIALS, name):
        raise ValueError(f"{value!r}: put the name in double quotes since it holds one of "
                         ', ; : @ " ( ) [ ] \\, like "Studio, Paris" <billing@example.com>')
    check_email(match["address"])
    return value


def sender_address(name: str, email: str) -> str:
    """`Name <email>`, the name quoted when it holds punctuation; readable, so no RFC 2047."""
    if not name:
        return email
    if re.search(r'[,;:"<>()@\[\]\\]', name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{email}>"


class MailConfig(StrictModel):
    """How emails leave: written to data/outbox (default), sent over SMTP or through Gmail.

    `gmail` sends with the Gmail API (`messages.send`) as the account `facturier auth google`
    signed in with, and journals Gmail's message and thread ids so reminders thread under
    the invoice. (`adapters/mail.py` also registers "memory", which tests set in code.)
    """

    transport: Literal["outbox", "smtp", "gmail"] = "outbox"
    from_: Annotated[str, AfterValidator(check_sender)] = Field(alias="from")
    reply_to: Email | None = None
    bcc: Email | None = None
    smtp: SmtpConfig | None = Field(default=None, validate_default=True)

    @field_validator("smtp", mode="after")
    @classmethod
    def _smtp_needed(cls, smtp: SmtpConfig | None, info: ValidationInfo) -> SmtpConfig | None:
        """transport = "smtp" needs a server."""
        if smtp is None and info.data.get("transport") == "smtp":
            raise ValueError('required when transport = "smtp" (a [mail.smtp] table with host)')
        return smtp
