"""`facturier init`: the scaffold is valid, complete and never overwrites anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from facturier.config import check_workspace, load_workspace, scaffold_workspace
from facturier.core.errors import FacturierError


def test_scaffold_passes_check(tmp_path: Path) -> None:
    dest = tmp_path / "new"
    scaffold_workspace(dest)
    assert check_workspace(dest) == []
    workspace = load_workspace(dest)
    assert sorted(workspace.clients) == ["example-client"]
    assert workspace.clients["example-client"].mode == "test"
    assert workspace.batch_clients == {}


def test_scaffold_layout(tmp_path: Path) -> None:
    scaffold_workspace(tmp_path)
    assert (tmp_path / "facturier.toml").is_file()
    assert [p.name for p in (tmp_path / "clients").iterdir()] == ["example-client.toml"]
    assert list((tmp_path / "batch_clients").iterdir()) == []
    assert list((tmp_path / "templates").iterdir()) == []


def test_scaffold_documents_every_section(tmp_path: Path) -> None:
    scaffold_workspace(tmp_path)
    text = (tmp_path / "facturier.toml").read_text("utf-8")
    for key in ("[issuer]", "[numbering]", "[schedule]", "[terms]", "[mail]", "[mail.smtp]",
                "[bank.csv]", "timezone", "legal_form", "share_capital", "rcs", "siret", "iban", "bic",
                "default_vat_rate", "password_env", "password_file", "reply_to", "bcc", "from"):
        assert key in text, key


def test_scaffold_refuses_an_existing_workspace(tmp_path: Path) -> None:
    (tmp_path / "facturier.toml").write_text("# mine\n", "utf-8")
    with pytest.raises(FacturierError, match="already has a facturier.toml"):
        scaffold_workspace(tmp_path)
    assert (tmp_path / "facturier.toml").read_text("utf-8") == "# mine\n"
    assert not (tmp_path / "clients").exists()


def test_scaffold_never_overwrites_a_client_file(tmp_path: Path) -> None:
    (tmp_path / "clients").mkdir()
    (tmp_path / "clients/example-client.toml").write_text("# mine\n", "utf-8")
    with pytest.raises(FacturierError, match="already exists"):
        scaffold_workspace(tmp_path)
    assert not (tmp_path / "facturier.toml").exists()
