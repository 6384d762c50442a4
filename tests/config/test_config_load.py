"""Loading whole workspaces: the demo, missing files, file-level and cross-file problems."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from facturier.config import Workspace, check_workspace, load_workspace
from facturier.core.errors import ConfigError, FacturierError

if TYPE_CHECKING:
    from conftest import EditableWorkspace

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"

MINIMAL_CLIENT = """
name = "Client"
email = "a@client.example"
address = ["1 rue X", "75001 Paris"]
country = "FR"
language = "fr"
currency = "EUR"
[[lines]]
description = "Work"
unit_price = "100"
"""


def test_demo_workspace_is_valid() -> None:
    assert check_workspace(DEMO) == []


def test_demo_workspace_loads_typed_values() -> None:
    workspace = load_workspace(DEMO)
    assert isinstance(workspace, Workspace)
    assert workspace.root == DEMO
    assert sorted(workspace.clients) == ["acme", "atelier-lumiere", "northwind", "sandbox"]
    assert sorted(workspace.batch_clients) == ["boulangerie-martin"]
    issuer = workspace.config.issuer
    assert (issuer.siren, issuer.vat_id, issuer.iban) == (
        "732829320", "FR44732829320", "FR7630006000011234567890189")
    acme = workspace.clients["acme"]
    assert acme.lines[2].quantity == Decimal("2.5")
    assert acme.lines[1].vat_rate is None
    assert acme.options.auto_send is True
    assert workspace.clients["northwind"].effective_vat_regime(issuer) == "reverse_charge"
    assert workspace.clients["acme"].effective_vat_regime(issuer) == "standard"
    batch = workspace.batch_clients["boulangerie-martin"]
    assert batch.default_vat_rate == Decimal("5.5")
    assert batch.download_base_url == "https://files.example.com/facturier"


def test_demo_batch_csv_follows_the_v1_columns() -> None:
    csv_path = DEMO / "data/inbox_batch/boulangerie-martin/2026-11-orders.csv"
    header = csv_path.read_text(encoding="utf-8").splitlines()[0]
    assert header == ("reference,date,customer_name,customer_address,customer_email,"
                      "description,quantity,unit_price,vat_rate")


def test_missing_facturier_toml_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workspace(tmp_path)
    assert len(caught.value.problems) == 1
    assert "is not a Facturier workspace" in caught.value.problems[0]
    assert "facturier init" in caught.value.problems[0]


def test_load_raises_config_error_with_every_problem(demo: EditableWorkspace) -> None:
    demo.replace("clients/acme.toml", 'currency = "EUR"', 'currency = "EURO"')
    demo.replace("facturier.toml", "payment_days = 30", "payment_days = 400")
    with pytest.raises(ConfigError) as caught:
        load_workspace(demo.root)
    assert caught.value.problems == [
        "facturier.toml: terms.payment_days: must be at most 365, got 400",
        "clients/acme.toml: currency: 'EURO' is not an ISO 4217 currency code",
    ]
    assert isinstance(caught.value, FacturierError)


def test_invalid_toml_names_the_line(demo: EditableWorkspace) -> None:
    demo.write("clients/acme.toml", 'name = "ACME"\nemail = "a@b.fr"\nlanguage = fr\n')
    assert check_workspace(demo.root) == [
        "clients/acme.toml: (file): invalid TOML at line 3: invalid value (column 12)",
    ]


def test_invalid_toml_does_not_hide_other_files(demo: EditableWorkspace) -> None:
    demo.write("clients/acme.toml", "name = \n")
    demo.replace("clients/northwind.toml", 'language = "en"', 'language = "de"')
    problems = check_workspace(demo.root)
    assert len(problems) == 2
    assert problems[0].startswith("clients/acme.toml: (file): invalid TOML at line 1: ")
    assert problems[1] == "clients/northwind.toml: language: unsupported value 'de'; expected 'fr' or 'en'"


def test_non_utf8_file(demo: EditableWorkspace) -> None:
    (demo.root / "clients/acme.toml").write_bytes('name = "Caf\u00e9"\n'.encode("latin-1"))
    assert check_workspace(demo.root) == ["clients/acme.toml: (file): not valid UTF-8 text"]


@pytest.mark.parametrize("stem", ["Acme", "acme corp", "-acme", "_acme", "acmé"])
def test_bad_client_id_file_name(demo: EditableWorkspace, stem: str) -> None:
    demo.write(f"clients/{stem}.toml", MINIMAL_CLIENT)
    assert check_workspace(demo.root) == [
        (f"clients/{stem}.toml: (file): {stem!r} is not a valid id: the file name must match "
        "[a-z0-9][a-z0-9_-]* (lowercase letters, digits, _ and -), e.g. acme.toml"),
    ]


@pytest.mark.parametrize("stem", ["a", "0", "client_2", "north-wind"])
def test_good_client_ids(demo: EditableWorkspace, stem: str) -> None:
    demo.write(f"clients/{stem}.toml", MINIMAL_CLIENT)
    assert check_workspace(demo.root) == []
    assert stem in load_workspace(demo.root).clients


def test_non_toml_files_in_clients_are_ignored(demo: EditableWorkspace) -> None:
    demo.write("clients/README.md", "notes")
    demo.write("clients/acme.toml~", "editor backup")
    assert check_workspace(demo.root) == []


def test_same_id_in_clients_and_batch_clients(demo: EditableWorkspace) -> None:
    demo.write("clients/boulangerie-martin.toml", MINIMAL_CLIENT)
    assert check_workspace(demo.root) == [
        ("batch_clients/boulangerie-martin.toml: (file): "
        "id 'boulangerie-martin' is also used by clients/boulangerie-martin.toml"),
    ]


def test_batch_client_may_not_be_named_issuer(demo: EditableWorkspace) -> None:
    (demo.root / "batch_clients/boulangerie-martin.toml").rename(demo.root / "batch_clients/issuer.toml")
    assert check_workspace(demo.root) == [
        "batch_clients/issuer.toml: (file): 'issuer' is reserved; rename it",
    ]


def test_franchise_issuer_cannot_have_standard_vat_client(demo: EditableWorkspace) -> None:
    demo.replace("facturier.toml", 'vat_regime = "standard"', 'vat_regime = "franchise"')
    assert check_workspace(demo.root) == [
        ('clients/acme.toml: vat_regime: the issuer is in franchise (vat_regime = "franchise") '
        "and cannot charge VAT"),
    ]


def test_franchise_issuer_is_followed_by_clients_without_override(demo: EditableWorkspace) -> None:
    demo.replace("facturier.toml", 'vat_regime = "standard"', 'vat_regime = "franchise"')
    demo.replace("clients/acme.toml", 'vat_regime = "standard"', "")
    workspace = load_workspace(demo.root)
    acme = workspace.clients["acme"]
    assert acme.effective_vat_regime(workspace.config.issuer) == "franchise"


def test_workspace_without_client_directories_is_valid(tmp_path: Path) -> None:
    (tmp_path / "facturier.toml").write_text((DEMO / "facturier.toml").read_text("utf-8"), "utf-8")
    workspace = load_workspace(tmp_path)
    assert workspace.clients == {} and workspace.batch_clients == {}
