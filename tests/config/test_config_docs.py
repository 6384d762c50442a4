"""The examples in docs/configuration.md are valid configuration."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from facturier.config import BatchClientConfig, ClientConfig, FacturierConfig, MailConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def toml_blocks() -> list[dict[str, Any]]:
    """Every ```toml block of the configuration reference, parsed."""
    text = DOC.read_text(encoding="utf-8")
    return [tomllib.loads(block) for block in re.findall(r"```toml\n(.*?)```", text, re.DOTALL)]


def test_every_example_parses_and_validates() -> None:
    blocks = toml_blocks()
    assert len(blocks) == 8
    full, smtp, bank, collections, einvoicing, accounting, client, batch = blocks
    FacturierConfig.model_validate(full)
    MailConfig.model_validate(smtp["mail"])
    FacturierConfig.model_validate({**full, "bank": bank["bank"]})
    FacturierConfig.model_validate({**full, "collections": collections["collections"]})
    FacturierConfig.model_validate({**full, "accounting": accounting["accounting"]})
    FacturierConfig.model_validate({**full, "einvoicing": einvoicing["einvoicing"]})
    ClientConfig.model_validate(client)
    BatchClientConfig.model_validate(batch)


def test_the_collections_guide_example_validates() -> None:
    text = (DOC.parent / "collections.md").read_text(encoding="utf-8")
    block, quickbooks = [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", text, re.DOTALL)]
    full = toml_blocks()[0]
    FacturierConfig.model_validate({**full, "collections": {**block["collections"], "drafts": "imap"}})
    FacturierConfig.model_validate({**full, "collections": quickbooks["collections"]})  # issue 26


def test_the_usage_billing_examples_validate() -> None:
    """Every ```toml block of docs/usage-billing.md, added to a client, passes every check."""
    from facturier.config.pricing import pricing_problems

    text = (DOC.parent / "usage-billing.md").read_text(encoding="utf-8")
    blocks = [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", text, re.DOTALL)]
    assert len(blocks) == 7
    client = next(b for b in toml_blocks() if "lines" in b and "name" in b)  # the client file example
    for block in blocks:
        data = {**client, **{k: v for k, v in block.items() if k not in ("lines", "discounts")}}
        data["lines"] = client["lines"] + block.get("lines", [])
        if "discounts" in block:
            data["lines"] = data["lines"] + [{"description": "API calls", "metric": "api_calls", "unit_price": "1"}]
            data["discounts"] = block["discounts"]
        model = ClientConfig.model_validate(data)
        assert pricing_problems(model) == [], block
