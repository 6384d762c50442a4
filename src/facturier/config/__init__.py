"""Workspace configuration: TOML files validated into pydantic models, every problem reported.

Problems read `<relative file path>: <key path>: <message>`, e.g.
`clients/acme.toml: lines[0].unit_price: 450.0 is a float; write money as a string like "450.00"`.
"""

from __future__ import annotations

from facturier.config.clients import (
    BatchClientConfig,
    ClientConfig,
    ClientOptions,
    LineConfig,
)
from facturier.config.collections import ClientCollections, CollectionsConfig, ImapConfig
from facturier.config.fields import StrictModel
from facturier.config.load import (
    Workspace,
    check_workspace,
    check_workspace_report,
    load_workspace,
)
from facturier.config.mail import MailConfig, SmtpConfig
from facturier.config.models import (
    BankConfig,
    BankCsvConfig,
    FacturierConfig,
    IssuerConfig,
    NumberingConfig,
    ScheduleConfig,
    SellerIdentity,
    TermsConfig,
)
from facturier.config.scaffold import scaffold_workspace

__all__ = [
    "BankConfig",
    "BankCsvConfig",
    "BatchClientConfig",
    "ClientCollections",
    "ClientConfig",
    "ClientOptions",
    "CollectionsConfig",
    "FacturierConfig",
    "ImapConfig",
    "IssuerConfig",
    "LineConfig",
    "MailConfig",
    "NumberingConfig",
    "ScheduleConfig",
    "SellerIdentity",
    "SmtpConfig",
    "StrictModel",
    "TermsConfig",
    "Workspace",
    "check_workspace",
    "check_workspace_report",
    "load_workspace",
    "scaffold_workspace",
]
