"""The `[google]` section, and the OAuth scopes a configuration needs.

`client_secret` is the path of the OAuth client downloaded from Google Cloud (a "Desktop
app" client), read only by `facturier auth google`. `token_file` is where the signed-in
token is kept: outside the workspace by default, so a copied or shared workspace never
carries it, written 0600 and refused when more open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facturier.config.fields import NonEmptyStr, StrictModel

if TYPE_CHECKING:
    from facturier.config.models import FacturierConfig

DEFAULT_TOKEN_FILE = "~/.config/facturier/google-token.json"
GMAIL_COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
SHEETS = "https://www.googleapis.com/auth/spreadsheets"
SHEETS_READONLY = "https://www.googleapis.com/auth/spreadsheets.readonly"


class GoogleConfig(StrictModel):
    """Where the OAuth client secret and the token are (paths; `~` is the home folder)."""

    client_secret: NonEmptyStr | None = None
    token_file: NonEmptyStr = DEFAULT_TOKEN_FILE


def google_scopes(config: FacturierConfig) -> tuple[str, ...]:
    """Only what the configuration uses: gmail.compose for Gmail drafts or sending (it covers
    `messages.send`), spreadsheets when a Google Sheet is written back or logged to, else
    read-only."""
    scopes: list[str] = []
    collections = config.collections
    if collections.drafts == "gmail" or config.mail.transport == "gmail":
        scopes.append(GMAIL_COMPOSE)
    if collections.source == "sheets":
        # Writing: the write-back, or the Log tab's rows (issue 26).
        writes = collections.write_back or collections.log_tab is not None
        scopes.append(SHEETS if writes else SHEETS_READONLY)
    return tuple(scopes)
