"""Each class of configuration problem, reported exactly as `file: key: message`, all at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from facturier.config import check_workspace

if TYPE_CHECKING:
    from conftest import EditableWorkspace

ACME = "clients/acme.toml"
NORTHWIND = "clients/northwind.toml"
CONFIG = "facturier.toml"
BATCH = "batch_clients/boulangerie-martin.toml"


def problems(demo: EditableWorkspace) -> list[str]:
    """The workspace's problems."""
    return check_workspace(demo.root)


def test_float_money_is_refused(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'unit_price = "450.00"', "unit_price = 450.0")
    assert problems(demo) == [
        'clients/acme.toml: lines[0].unit_price: 450.0 is a float; write money as a string like "450.00"',
    ]


def test_float_quantity_and_rate_are_refused(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'quantity = "2.5"', "quantity = 2.5")
    demo.replace(CONFIG, 'default_vat_rate = "20"', "default_vat_rate = 20.0")
    assert problems(demo) == [
        'facturier.toml: issuer.default_vat_rate: 20.0 is a float; write rates as a string like "20"',
        'clients/acme.toml: lines[2].quantity: 2.5 is a float; write decimals as a string like "1.5"',
    ]


def test_integer_money_is_accepted(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'unit_price = "450.00"', "unit_price = 450")
    assert problems(demo) == []


@pytest.mark.parametrize("text", ['"1,5"', '"1e3"', '"NaN"', '" 12"', '"1_000"', "true"])
def test_malformed_decimals_are_refused(demo: EditableWorkspace, text: str) -> None:
    demo.replace(ACME, 'unit_price = "450.00"', f"unit_price = {text}")
    [problem] = problems(demo)
    assert problem.startswith("clients/acme.toml: lines[0].unit_price: expected a decimal number")


def test_unknown_keys_at_every_level(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'siret = "73282932000017"', 'siret = "73282932000017"\nsirett = "x"')
    demo.append(CONFIG, '\n[colors]\nprimary = "blue"\n')
    demo.append(ACME, 'discount = "5"\n')
    assert problems(demo) == [
        "facturier.toml: issuer.sirett: unknown key; did you mean siret?",
        "facturier.toml: colors: unknown key",
        "clients/acme.toml: lines[2].discount: unknown key",
    ]


def test_an_unknown_key_names_the_key_it_looks_like_or_where_a_secret_goes(demo: EditableWorkspace) -> None:
    """A typo (`invoce_day`) or a password written in the file was only "unknown key"."""
    demo.replace(CONFIG, "invoice_day = 15", "invoce_day = 15")
    demo.replace(ACME, 'unit_price = "450.00"', 'unit_prce = "450.00"')
    demo.append(CONFIG, '\n[mail.smtp]\nhost = "127.0.0.1"\nusername = "u"\npassword = "hunter2"\n')
    found = problems(demo)
    assert "facturier.toml: schedule.invoce_day: unknown key; did you mean invoice_day?" in found
    assert "clients/acme.toml: lines[0].unit_prce: unknown key; did you mean unit_price?" in found
    assert ("facturier.toml: mail.smtp.password: unknown key; secrets are never written in the configuration: "
            "name an environment variable or a 0600 file with password_env or password_file") in found


def test_top_level_key_after_a_table_gets_a_hint(demo: EditableWorkspace) -> None:
    demo.append(NORTHWIND, 'mode = "test"\n')
    assert problems(demo) == [
        ("clients/northwind.toml: lines[1].mode: unknown key; "
        "mode is a top-level key: write it above the first [table] header"),
    ]


def test_wrong_types_are_not_coerced(demo: EditableWorkspace) -> None:
    demo.replace(ACME, "active = true", 'active = "yes"')
    demo.replace(NORTHWIND, "payment_days = 45", 'payment_days = "45"')
    demo.replace(NORTHWIND, 'name = "Northwind Traders Ltd"', "name = 42")
    demo.replace(CONFIG, "invoice_day = 15", "invoice_day = 15.0")
    demo.replace(CONFIG, 'address = ["12 rue des Lilas", "75011 Paris"]', 'address = "12 rue des Lilas"')
    assert problems(demo) == [
        "facturier.toml: issuer.address: expected a list, got '12 rue des Lilas'",
        "facturier.toml: schedule.invoice_day: expected an integer, got 15.0",
        "clients/acme.toml: active: expected true or false, got 'yes'",
        "clients/northwind.toml: name: expected a string, got 42",
        "clients/northwind.toml: payment_days: expected an integer, got '45'",
    ]


def test_missing_required_keys(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'currency = "EUR"\n', "")
    demo.replace(CONFIG, 'email = "billing@palks.example"\n', "")
    assert problems(demo) == [
        "facturier.toml: issuer.email: missing required key",
        "clients/acme.toml: currency: missing required key",
    ]


def test_three_mistakes_in_one_file_give_three_problems(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'language = "fr"', 'language = "de"')
    demo.replace(ACME, 'currency = "EUR"', 'currency = "EURO"')
    demo.replace(ACME, 'unit_price = "39.90"', "unit_price = 39.9")
    assert problems(demo) == [
        "clients/acme.toml: language: unsupported value 'de'; expected 'fr' or 'en'",
        "clients/acme.toml: currency: 'EURO' is not an ISO 4217 currency code",
        'clients/acme.toml: lines[1].unit_price: 39.9 is a float; write money as a string like "450.00"',
    ]


def test_problems_in_several_files_are_all_listed(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'timezone = "Europe/Paris"', 'timezone = "Europe/Lutece"')
    demo.replace(ACME, 'country = "FR"', 'country = "fr"')
    demo.replace(BATCH, 'currency = "EUR"', 'currency = "eur"')
    assert problems(demo) == [
        "facturier.toml: timezone: unknown time zone 'Europe/Lutece'; use a name like \"Europe/Paris\"",
        "clients/acme.toml: country: 'fr' is not an ISO 3166 alpha-2 country code (write \"FR\")",
        ("batch_clients/boulangerie-martin.toml: currency: 'eur' is not an ISO 4217 currency code "
        '(write "EUR")'),
    ]


def test_invalid_identifiers(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'siren = "732829320"', 'siren = "732829321"')
    demo.replace(CONFIG, 'iban = "FR7630006000011234567890189"', 'iban = "FR7630006000011234567890188"')
    demo.replace(NORTHWIND, 'vat_id = "GB980780684"', 'vat_id = "GB980780685"')
    demo.replace(ACME, 'siret = "44306184100013"', 'siret = "44306184100014"')
    assert problems(demo) == [
        ("facturier.toml: issuer.siren: '732829321' is not a valid SIREN: "
        "the number's checksum or check digit is invalid"),
        ("facturier.toml: issuer.iban: 'FR7630006000011234567890188' is not a valid IBAN: "
        "the number's checksum or check digit is invalid"),
        ("clients/acme.toml: siret: '44306184100014' is not a valid SIRET: "
        "the number's checksum or check digit is invalid"),
        ("clients/northwind.toml: vat_id: 'GB980780685' is not a valid VAT number: "
        "the number's checksum or check digit is invalid"),
    ]


def test_identifiers_are_stored_compact(demo: EditableWorkspace) -> None:
    from facturier.config import load_workspace

    demo.replace(CONFIG, 'siren = "732829320"', 'siren = "732 829 320"')
    demo.replace(CONFIG, 'iban = "FR7630006000011234567890189"', 'iban = "FR76 3000 6000 0112 3456 7890 189"')
    demo.replace(CONFIG, 'vat_id = "FR44732829320"', 'vat_id = "FR 44 732829320"')
    issuer = load_workspace(demo.root).config.issuer
    assert (issuer.siren, issuer.iban, issuer.vat_id) == (
        "732829320", "FR7630006000011234567890189", "FR44732829320")


def test_vat_id_without_country_prefix(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'vat_id = "FR64443061841"', 'vat_id = "64443061841"')
    assert problems(demo) == [
        "clients/acme.toml: vat_id: '64443061841' is not a VAT number: it must start with a country code",
    ]


def test_french_identity_consistency(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'siret = "73282932000017"', 'siret = "44306184100013"')
    demo.replace(CONFIG, 'vat_id = "FR44732829320"', 'vat_id = "FR64443061841"')
    assert problems(demo) == [
        "facturier.toml: issuer.siret: '44306184100013' does not start with the siren '732829320'",
        "facturier.toml: issuer.vat_id: 'FR64443061841' does not match the siren '732829320'",
    ]


def test_french_seller_needs_a_siren_and_a_vat_id(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'siren = "732829320"\n', "")
    demo.replace(CONFIG, 'siret = "73282932000017"\n', "")
    demo.replace(CONFIG, 'vat_id = "FR44732829320"\n', "")
    assert problems(demo) == [
        'facturier.toml: issuer.siren: required when country is "FR"',
        'facturier.toml: issuer.vat_id: required unless vat_regime = "franchise"',
    ]


def test_franchise_seller_needs_no_vat_id(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'vat_regime = "standard"', 'vat_regime = "franchise"')
    demo.replace(CONFIG, 'vat_id = "FR44732829320"\n', "")
    demo.replace(ACME, 'vat_regime = "standard"\n', "")
    assert problems(demo) == []


def test_unsupported_language_and_currency(demo: EditableWorkspace) -> None:
    demo.replace(NORTHWIND, 'language = "en"', 'language = "de"')
    demo.replace(NORTHWIND, 'currency = "GBP"', 'currency = "XYZ"')
    assert problems(demo) == [
        "clients/northwind.toml: language: unsupported value 'de'; expected 'fr' or 'en'",
        "clients/northwind.toml: currency: 'XYZ' is not an ISO 4217 currency code",
    ]


def test_reverse_charge_without_vat_id(demo: EditableWorkspace) -> None:
    demo.replace(NORTHWIND, 'vat_id = "GB980780684"\n', "")
    assert problems(demo) == [
        'clients/northwind.toml: vat_id: required when vat_regime = "reverse_charge"',
    ]


def test_reverse_charge_with_invalid_vat_id_is_one_problem(demo: EditableWorkspace) -> None:
    demo.replace(NORTHWIND, 'vat_id = "GB980780684"', 'vat_id = "GB1"')
    [problem] = problems(demo)
    assert problem.startswith("clients/northwind.toml: vat_id: 'GB1' is not a valid VAT number")


def test_line_rules(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'description = "Hébergement et sauvegardes"', 'description = "  "')
    demo.replace(ACME, 'quantity = "1"', 'quantity = "0"')
    demo.replace(ACME, 'unit_price = "39.90"', 'unit_price = "-39.90"')
    demo.replace(ACME, 'vat_rate = "20"', 'vat_rate = "100"')
    assert problems(demo) == [
        "clients/acme.toml: lines[0].quantity: must be greater than 0, got 0",
        "clients/acme.toml: lines[0].vat_rate: a VAT rate is a percentage from 0 to less than 100, got 100",
        "clients/acme.toml: lines[1].description: must not be empty",
        "clients/acme.toml: lines[1].unit_price: must not be negative, got -39.90",
    ]


def test_active_client_needs_lines_but_inactive_does_not(demo: EditableWorkspace) -> None:
    lines = "\n[[lines]]\ndescription = \"Test subscription\"\nunit_price = \"10\"\nvat_rate = \"0\"\n"
    demo.replace("clients/sandbox.toml", lines, "\n")
    text = (demo.root / "clients/atelier-lumiere.toml").read_text("utf-8")
    demo.write("clients/atelier-lumiere.toml", text.split("[[lines]]")[0])
    assert problems(demo) == [
        "clients/sandbox.toml: lines: an active client needs at least one [[lines]] entry",
    ]


def test_recipients_list(demo: EditableWorkspace) -> None:
    demo.replace(NORTHWIND, '"ops@northwind.example"', '"ops at northwind"')
    demo.replace(ACME, 'email = "compta@acme.example"', "email = []")
    assert problems(demo) == [
        "clients/acme.toml: email: expected an email address or a list of addresses, got []",
        "clients/northwind.toml: email: 'ops at northwind' is not a valid email address",
    ]


def test_cycle_days_stop_at_28(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, "send_day = 15", "send_day = 31")
    demo.replace(NORTHWIND, "invoice_day = 1", "invoice_day = 0")
    assert problems(demo) == [
        ("facturier.toml: schedule.send_day: must be a day from 1 to 28 "
        "(29-31 do not exist in every month), got 31"),
        ("clients/northwind.toml: invoice_day: must be a day from 1 to 28 "
        "(29-31 do not exist in every month), got 0"),
    ]


def test_late_penalty_table_languages(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, "late_penalty = { fr", 'late_penalty = { de = "x", fr')
    demo.replace(BATCH, 'late_penalty = "trois fois le taux d\'intérêt légal"', "late_penalty = 3")
    assert problems(demo) == [
        "facturier.toml: terms.late_penalty: unsupported language 'de'; supported: \"fr\", \"en\"",
        ("batch_clients/boulangerie-martin.toml: late_penalty: expected a string or a table like "
        '{ fr = "...", en = "..." }, got 3'),
    ]


def test_batch_link_delivery_needs_a_url(demo: EditableWorkspace) -> None:
    demo.replace(BATCH, 'download_base_url = "https://files.example.com/facturier"\n', "")
    assert problems(demo) == [
        ("batch_clients/boulangerie-martin.toml: download_base_url: "
        'required when delivery = "link" and options.auto_send = true'),
    ]


def test_batch_url_scheme(demo: EditableWorkspace) -> None:
    demo.replace(BATCH, '"https://files.example.com/facturier"', '"ftp://files.example.com"')
    assert problems(demo) == [
        ("batch_clients/boulangerie-martin.toml: download_base_url: "
        "'ftp://files.example.com' must start with https:// or http://"),
    ]


def test_batch_attach_delivery_needs_no_url(demo: EditableWorkspace) -> None:
    demo.replace(BATCH, 'delivery = "link"', 'delivery = "attach"')
    demo.replace(BATCH, 'download_base_url = "https://files.example.com/facturier"\n', "")
    assert problems(demo) == []


def test_vat_id_of_a_country_without_known_format(demo: EditableWorkspace) -> None:
    demo.replace("clients/sandbox.toml", 'country = "US"', 'country = "US"\nvat_id = "US123456"')
    assert problems(demo) == [
        ("clients/sandbox.toml: vat_id: 'US123456': VAT numbers of country code 'US' "
        "cannot be validated"),
    ]


@pytest.mark.parametrize("vat_id", ["EL094259216", "XI980780684", "DE136695976", "CHE-116.281.710 MWST"])
def test_vat_ids_of_other_countries(demo: EditableWorkspace, vat_id: str) -> None:
    demo.replace(NORTHWIND, 'vat_id = "GB980780684"', f'vat_id = "{vat_id}"')
    assert problems(demo) == []


def test_toml_dates_are_shown_as_written(demo: EditableWorkspace) -> None:
    demo.replace(ACME, 'name = "ACME SARL"', "name = 2026-11-02")
    assert problems(demo) == ["clients/acme.toml: name: expected a string, got 2026-11-02"]
