"""The Google, sheet, Slack and payment-link keys: validated like every other key, and only
the scopes the configuration uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from facturier.config import FacturierConfig
from facturier.config.google import GMAIL_COMPOSE, SHEETS, SHEETS_READONLY, google_scopes
from tests.config.test_config_docs import toml_blocks

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "google.md"


def full(**sections: Any) -> FacturierConfig:
    base = toml_blocks()[0]
    return FacturierConfig.model_validate({**base, **sections})


def test_the_google_guide_example_validates_and_asks_for_its_scopes() -> None:
    [block] = [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), re.DOTALL)]
    base = toml_blocks()[0]
    config = FacturierConfig.model_validate({**base, **block, "mail": {**base["mail"], **block["mail"]}})
    assert config.mail.transport == "gmail" and config.collections.drafts == "gmail"
    assert google_scopes(config) == (GMAIL_COMPOSE, SHEETS)


@pytest.mark.parametrize("collections,mail,expected", [
    ({}, {}, ()),
    ({"drafts": "gmail"}, {}, (GMAIL_COMPOSE,)),
    ({}, {"transport": "gmail"}, (GMAIL_COMPOSE,)),
    ({"source": "sheets", "spreadsheet_id": "x", "write_back": False}, {}, (SHEETS_READONLY,)),
    ({"source": "sheets", "spreadsheet_id": "x"}, {}, (SHEETS,)),
    ({"source": "csv", "source_path": "x.csv"}, {}, ()),
])
def test_only_the_scopes_the_configuration_uses(collections: dict[str, Any], mail: dict[str, Any],
                                                expected: tuple[str, ...]) -> None:
    base = toml_blocks()[0]
    config = full(collections=collections, mail={**base["mail"], **mail})
    assert google_scopes(config) == expected


@pytest.mark.parametrize("section,message", [
    ({"collections": {"source": "sheets"}}, 'source = "sheets" needs spreadsheet_id'),
    ({"collections": {"source": "csv"}}, 'source = "csv" needs source_path'),
    ({"collections": {"source": "excel"}}, "Input should be 'ledger', 'csv', 'sheets' or 'quickbooks'"),
    ({"collections": {"slack": {"min_stage": 28}}}, "webhook_env"),
    ({"collections": {"slack": {"webhook_env": "https://hooks.slack.com/services/T/B/X"}}},
     "is not an environment variable name"),
    ({"collections": {"payment_link": {"provider": "template"}}}, 'required when provider = "template"'),
    ({"collections": {"payment_link": {"provider": "template", "url": "https://p.example/{invoice}"}}},
     "only {number}, {amount} and {currency}"),
    ({"collections": {"payment_link": {"provider": "paypal"}}}, "Input should be 'template' or 'stripe'"),
    ({"google": {"token": "x"}}, "Extra inputs are not permitted"),
])
def test_bad_keys_are_refused(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        full(**section)


def test_check_names_file_and_key(ws: Path) -> None:
    from tests.conftest import run_cli

    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text() + '\n[google]\nclient_secret = "s.json"\ntoken = "x"\n')
    result = run_cli(ws, "check")
    assert result.code == 1 and "facturier.toml: google.token: unknown key" in result.out
