"""Workspace configuration: TOML files validated into pydantic models, every problem reported.

Problems read `<relative file path>: <key path>: <message>`, e.g.
`clients/acme.toml: lines[0].unit_price: 450.0 is a float; write money as a string like "450.00"`.
"""

from __future__ import annotations

from facturier.config.clients import BatchClientConfig, ClientConfig, LineConfig
from facturier.config.load import (
    Workspace,
    check_workspace,
    check_workspace_report,
    load_workspace,
)
from facturier.config.mail import MailConfig, SmtpConfig
from facturier.config.models import FacturierConfig, TermsConfig
from facturier.config.scaffold import scaffold_workspace

__all__ = [
    "BatchClientConfig",
    "ClientConfig",
    "FacturierConfig",
    "LineConfig",
    "MailConfig",
    "SmtpConfig",
    "TermsConfig",
    "Workspace",
    "check_workspace",
    "check_workspace_report",
    "load_workspace",
    "scaffold_workspace",
]
