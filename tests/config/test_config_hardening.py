"""Issue 10 configuration rules: VAT rates, invisible characters, addresses, secrets, files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from facturier.config import check_workspace
from facturier.config.fields import check_vat_rate

if TYPE_CHECKING:
    from conftest import EditableWorkspace

ACME = "clients/acme.toml"
CONFIG = "facturier.toml"
BATCH = "batch_clients/boulangerie-martin.toml"
NOT_FRENCH = "'19.6' is not a French VAT rate (0, 2.1, 5.5, 10 or 20)"


def test_a_rate_of_another_country_is_refused_everywhere_for_a_french_seller(
    demo: EditableWorkspace,
) -> None:
    demo.replace(ACME, 'vat_rate = "20"', 'vat_rate = "19.6"')
    demo.replace(CONFIG, 'default_vat_rate = "20"', 'default_vat_rate = "19.6"')
    demo.replace(BATCH, 'default_vat_rate = "5.5"', 'default_vat_rate = "19.6"')
    assert check_workspace(demo.root) == [
        f"facturier.toml: issuer.default_vat_rate: {NOT_FRENCH}",
        f"{BATCH}: default_vat_rate: {NOT_FRENCH}",
    ]
    # The client line is checked against the issuer's country once the issuer is valid.
    demo.replace(CONFIG, 'default_vat_rate = "19.6"', 'default_vat_rate = "20"')
    assert check_workspace(demo.root) == [
        f"{BATCH}: default_vat_rate: {NOT_FRENCH}",
        f"{ACME}: lines[0].vat_rate: {NOT_FRENCH}",
    ]


def test_the_same_rule_serves_config_and_csv_rows() -> None:
    from decimal import Decimal

    assert check_vat_rate(Decimal("5.50"), "FR") == Decimal("5.5")
    assert check_vat_rate(Decimal("19.6"), "CH") == Decimal("19.6")  # not a French seller
    with pytest.raises(ValueError, match="not a French VAT rate"):
        check_vat_rate(Decimal("19.6"), "FR")
    with pytest.raises(ValueError, match="percentage from 0 to less than 100"):
        check_vat_rate(Decimal(100), "CH")


def test_control_and_format_characters_are_refused_in_every_text_key(
    demo: EditableWorkspace,
) -> None:
    demo.replace(CONFIG, 'name = "Palks Studio"', 'name = "Palks\\u202eoidutS"')  # bidi override
    demo.replace(CONFIG, 'fr = "trois fois', 'fr = "trois\\tfois')
    demo.replace(ACME, 'name = "ACME SARL"', 'name = "ACME\\nTOTAL TTC 0,00"')
    demo.replace(ACME, 'description = "Hébergement et sauvegardes"',
                 'description = "Héber\\u200bgement"')
    demo.replace(ACME, 'address = ["', 'address = ["\\u2028')
    assert check_workspace(demo.root) == [
        ("facturier.toml: issuer.name: contains U+202E (RIGHT-TO-LEFT OVERRIDE): control and "
         "format characters (line breaks, tabs, invisible or direction marks) are not allowed; "
         "retype the text without them"),
        ("facturier.toml: terms.late_penalty.fr: contains U+0009 (TAB): control and format "
         "characters (line breaks, tabs, invisible or direction marks) are not allowed; "
         "retype the text without them"),
        ("clients/acme.toml: name: contains U+000A (LINE FEED): control and format characters "
         "(line breaks, tabs, invisible or direction marks) are not allowed; "
         "retype the text without them"),
        ("clients/acme.toml: address[0]: contains U+2028 (LINE SEPARATOR): control and format "
         "characters (line breaks, tabs, invisible or direction marks) are not allowed; "
         "retype the text without them"),
        ("clients/acme.toml: lines[1].description: contains U+200B (ZERO WIDTH SPACE): control "
         "and format characters (line breaks, tabs, invisible or direction marks) are not "
         "allowed; retype the text without them"),
    ]


def test_a_value_with_invisible_characters_is_reported_once(demo: EditableWorkspace) -> None:
    # The email check would also refuse it: one problem per key is enough.
    demo.replace(ACME, 'email = "compta@acme.example"', 'email = ["compta@acme.example\\u0000"]')
    [problem] = check_workspace(demo.root)
    assert problem.startswith("clients/acme.toml: email[0]: contains U+0000 (NUL)")


@pytest.mark.parametrize("secret", ["hunter2!S3cret", "pa ss", "12345678", "mot-de-passe-é😀"])
def test_a_password_typed_into_password_env_is_never_echoed(
    demo: EditableWorkspace, secret: str,
) -> None:
    demo.replace(CONFIG, 'transport = "outbox"',
                 f'transport = "outbox"\n[mail.smtp]\nhost = "smtp.example.com"\n'
                 f'username = "u"\npassword_env = "{secret}"\n')
    demo.replace(CONFIG, 'from = "Palks Studio <billing@palks.example>"', "")
    demo.replace(CONFIG, 'bcc = "archive@palks.example"', "")
    [problem] = check_workspace(demo.root)
    assert problem.startswith("facturier.toml: mail.smtp.password_env: is not an environment")
    assert secret not in problem and "😀" not in problem and "hunter2" not in problem


@pytest.mark.parametrize(("key", "value", "message"), [
    ("from", "Palks <billing@palks.example>\\r\\nBcc: victim@evil.example",
     "mail.from: contains U+000D (CARRIAGE RETURN), U+000A (LINE FEED): control and format"),
    ("from", "Palks <billing@palks.example>\\u0000", "mail.from: contains U+0000 (NUL)"),
    ("from", "<billing@palks.example>",
     ("mail.from: '<billing@palks.example>' has no name before <...>: write "
      "\"billing@palks.example\" or \"Name <billing@palks.example>\"")),
    ("from", "Palks <billing@palks..example>",
     "mail.from: 'billing@palks..example' is not a valid email address"),
    ("from", "Palks, Paris <billing@palks.example>",
     "mail.from: 'Palks, Paris <billing@palks.example>': put the name in double quotes"),
    ("from", "a@b.example <c@d.example>", "mail.from: 'a@b.example <c@d.example>': put the name"),
    ("bcc", "<archive@palks.example>",
     "mail.bcc: '<archive@palks.example>' is not a valid email address (write the bare address"),
    ("bcc", "archive@palks..example", "mail.bcc: 'archive@palks..example' is not a valid email"),
    ("bcc", "archive@palks.example\\n", "mail.bcc: contains U+000A (LINE FEED)"),
])
def test_mail_addresses_and_header_values_are_validated(
    demo: EditableWorkspace, key: str, value: str, message: str,
) -> None:
    old = {"from": 'from = "Palks Studio <billing@palks.example>"',
           "bcc": 'bcc = "archive@palks.example"'}[key]
    demo.replace(CONFIG, old, f'{key} = "{value}"')
    [problem] = check_workspace(demo.root)
    assert problem.startswith(f"facturier.toml: {message}"), problem


@pytest.mark.parametrize("address", ["a@b..example", "<a@b.example>", "a@b", "a b@c.example",
                                     "a@-b.example", "a.@b.example", "a@b.123"])
def test_malformed_client_addresses_are_refused(demo: EditableWorkspace, address: str) -> None:
    demo.replace(ACME, 'email = "compta@acme.example"', f'email = "{address}"')
    [problem] = check_workspace(demo.root)
    assert problem.startswith(f"clients/acme.toml: email: '{address}' is not a valid email address")


@pytest.mark.parametrize("sender", ['"Palks, Paris" <billing@palks.example>',
                                   "Zoé Studio <zoé@palks.example>", "billing@palks.example"])
def test_well_formed_senders_are_accepted(demo: EditableWorkspace, sender: str) -> None:
    demo.replace(CONFIG, 'from = "Palks Studio <billing@palks.example>"',
                 "from = '" + sender + "'")
    assert check_workspace(demo.root) == []


def test_a_toml_file_saved_with_a_utf8_bom_is_accepted(demo: EditableWorkspace) -> None:
    path = demo.root / ACME
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert check_workspace(demo.root) == []


def test_wrong_case_extension_and_placeholder_identity_are_warnings(
    demo: EditableWorkspace,
) -> None:
    from facturier.config import check_workspace_report

    (demo.root / ACME).rename(demo.root / "clients/acme.TOML")
    demo.replace(CONFIG, 'siren = "732829320"', 'siren = "123456782"')
    demo.replace(CONFIG, 'vat_id = "FR44732829320"', 'vat_id = "FR11123456782"')
    demo.replace(CONFIG, 'siret = "73282932000017"', 'siret = "12345678200010"')
    problems, warnings = check_workspace_report(demo.root)
    assert problems == []
    assert warnings == [
        ("clients/acme.TOML: (file): ignored: only names ending in lowercase .toml are read; "
         "rename it acme.toml"),
        ("facturier.toml: issuer.siren: 123456782 is the example SIREN written by `facturier "
         "init`: replace the example identity (name, address, SIREN, VAT number, email) with "
         "your own before issuing a real invoice"),
    ]


def test_the_scaffold_uses_the_placeholder_siren_check_warns_about() -> None:
    from facturier.config.scaffold import PLACEHOLDER_SIREN, scaffold_text

    assert f'siren = "{PLACEHOLDER_SIREN}"' in scaffold_text("facturier.toml")


def test_a_tab_stays_allowed_as_the_bank_csv_delimiter(demo: EditableWorkspace) -> None:
    demo.append(CONFIG, '\n[bank.csv]\ndelimiter = "\\t"\ndate_column = "Date"\n'
                        'amount_column = "Amount"\ntext_column = "Label\\t"\n')
    [problem] = check_workspace(demo.root)
    assert problem.startswith("facturier.toml: bank.csv.text_column: contains U+0009 (TAB)")


def test_a_negative_zero_in_the_configuration_is_a_plain_zero(demo: EditableWorkspace) -> None:
    from facturier.config import load_workspace

    demo.replace(ACME, 'unit_price = "450.00"', 'unit_price = "-0"')
    price = load_workspace(demo.root).clients["acme"].lines[0].unit_price
    assert price == 0 and not price.is_signed()
