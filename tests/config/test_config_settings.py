"""facturier.toml sections: numbering templates, mail and SMTP, bank CSV, terms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from facturier.config import TermsConfig, check_workspace, load_workspace
from facturier.config.fields import check_number_template

if TYPE_CHECKING:
    from conftest import EditableWorkspace

CONFIG = "facturier.toml"
DEMO_MAIL = '[mail]\n# Write every email as a .eml file in data/outbox/ instead of sending it.\ntransport = "outbox"'


@pytest.mark.parametrize("template", [
    "{year}-{seq:04d}", "AV-{year}-{seq:04d}", "{seq}", "{client}-{year}.{month}_{seq:09d}",
    "F{year}{month}{seq:01d}",
])
def test_valid_number_templates(template: str) -> None:
    assert check_number_template(template) == template


@pytest.mark.parametrize(("template", "message"), [
    ("{year}", "'{year}' must contain exactly one {seq} or {seq:0Nd}"),
    ("{seq}-{seq}", "'{seq}-{seq}' must contain exactly one {seq} or {seq:0Nd}"),
    ("{year}-{seq:4d}", ("unknown placeholder {seq:4d} in '{year}-{seq:4d}'; "
     "allowed: {year} {month} {client} {seq} {seq:0Nd} (N from 1 to 9)")),
    ("{seq:010d}", ("unknown placeholder {seq:010d} in '{seq:010d}'; "
     "allowed: {year} {month} {client} {seq} {seq:0Nd} (N from 1 to 9)")),
    ("{day}-{seq}", ("unknown placeholder {day} in '{day}-{seq}'; "
     "allowed: {year} {month} {client} {seq} {seq:0Nd} (N from 1 to 9)")),
    ("{year:02d}-{seq}", ("unknown placeholder {year:02d} in '{year:02d}-{seq}'; "
     "allowed: {year} {month} {client} {seq} {seq:0Nd} (N from 1 to 9)")),
    ("F {seq}", "'F {seq}' contains characters not allowed in a number: use only letters, digits and _ . -"),
    ("F#{seq}", "'F#{seq}' contains characters not allowed in a number: use only letters, digits and _ . -"),
    ("{{seq}}", "'{{seq}}' contains characters not allowed in a number: use only letters, digits and _ . -"),
    ("{year-{seq}", "'{year-{seq}' is not a valid template: unexpected '{' in field name"),
    ("F/{year}/{seq:04d}", ("'F/{year}/{seq:04d}' contains characters not allowed in a number: "
     "use only letters, digits and _ . -")),
    ("F\\{seq}", "'F\\\\{seq}' contains characters not allowed in a number: use only letters, digits and _ . -"),
    ("..{seq}", ("'..{seq}' cannot name a document: '..999999999' is not a safe file name: a number may "
     "use only letters A-Z a-z, digits 0-9, _ and -, and . between two of them")),
    (".F{seq}", ("'.F{seq}' cannot name a document: '.F999999999' is not a safe file name: a number may "
     "use only letters A-Z a-z, digits 0-9, _ and -, and . between two of them")),
    ("F{seq}.", ("'F{seq}.' cannot name a document: 'F999999999.' is not a safe file name: a number may "
     "use only letters A-Z a-z, digits 0-9, _ and -, and . between two of them")),
    ("É{seq}", "'É{seq}' contains characters not allowed in a number: use only letters, digits and _ . -"),
    ("F\t{seq}", "'F\\t{seq}' contains characters not allowed in a number: use only letters, digits and _ . -"),
])
def test_invalid_number_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_number_template(template)
    assert str(caught.value) == message


def test_numbering_problems_are_reported_per_key(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'invoice = "{year}-{seq:04d}"', 'invoice = "{year}"')
    demo.replace("batch_clients/boulangerie-martin.toml", '"BM-{year}-{seq:05d}"', '"BM {seq}"')
    assert check_workspace(demo.root) == [
        "facturier.toml: numbering.invoice: '{year}' must contain exactly one {seq} or {seq:0Nd}",
        ("batch_clients/boulangerie-martin.toml: numbering: 'BM {seq}' contains characters not "
        "allowed in a number: use only letters, digits and _ . -"),
    ]


def smtp_block(host: str, security: str) -> str:
    """A [mail] section using SMTP."""
    return (f'[mail]\ntransport = "smtp"\n[mail.smtp]\nhost = "{host}"\nsecurity = "{security}"\n'
            '# Write every email as a .eml file in data/outbox/ instead of sending it.\n')


def use_smtp(demo: EditableWorkspace, host: str, security: str) -> None:
    """Switch the demo to SMTP with the given host and security."""
    demo.replace(CONFIG, DEMO_MAIL, smtp_block(host, security))
    # The demo's from/bcc keys would now land in [mail.smtp]; move them up.
    demo.replace(CONFIG, 'from = "Palks Studio <billing@palks.example>"', "")
    demo.replace(CONFIG, 'bcc = "archive@palks.example"', "")


def test_smtp_security_none_refused_on_a_remote_host(demo: EditableWorkspace) -> None:
    use_smtp(demo, "smtp.example.com", "none")
    assert check_workspace(demo.root) == [
        ("facturier.toml: mail.smtp.security: \"none\" is only allowed for a loopback host, "
        "not 'smtp.example.com'"),
    ]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1"])
def test_smtp_security_none_allowed_on_loopback(demo: EditableWorkspace, host: str) -> None:
    use_smtp(demo, host, "none")
    assert check_workspace(demo.root) == []
    smtp = load_workspace(demo.root).config.mail.smtp
    assert smtp is not None and (smtp.host, smtp.port, smtp.timeout) == (host, 587, 30)


def test_smtp_transport_needs_a_server(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'transport = "outbox"', 'transport = "smtp"')
    assert check_workspace(demo.root) == [
        'facturier.toml: mail.smtp: required when transport = "smtp" (a [mail.smtp] table with host)',
    ]


def test_smtp_password_sources(demo: EditableWorkspace) -> None:
    use_smtp(demo, "smtp.example.com", "ssl")
    demo.append(CONFIG, 'username = "me"\nport = 0\n')
    assert check_workspace(demo.root) == [
        "facturier.toml: mail.smtp.port: must be at least 1, got 0",
    ]
    demo.replace(CONFIG, "port = 0", "port = 465")
    assert check_workspace(demo.root) == [
        "facturier.toml: mail.smtp: username is set: also set password_env or password_file",
    ]
    demo.append(CONFIG, 'password_env = "SMTP PASSWORD"\n')
    assert check_workspace(demo.root) == [
        ("facturier.toml: mail.smtp.password_env: is not an environment variable name (letters, "
         "digits and _, not starting with a digit); the value is not shown in case it is the "
         "password itself: put the password in an environment variable and write that "
         "variable's name here"),
    ]


def test_mail_from_defaults_to_the_issuer(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'from = "Palks Studio <billing@palks.example>"\n', "")
    demo.replace(CONFIG, 'name = "Palks Studio"', 'name = "Palks Studio, Paris"')
    assert load_workspace(demo.root).config.mail.from_ == '"Palks Studio, Paris" <billing@palks.example>'


def test_mail_addresses_are_checked(demo: EditableWorkspace) -> None:
    demo.replace(CONFIG, 'from = "Palks Studio <billing@palks.example>"', 'from = "Palks Studio"')
    demo.replace(CONFIG, 'bcc = "archive@palks.example"', 'bcc = "archive"')
    assert check_workspace(demo.root) == [
        "facturier.toml: mail.from: 'Palks Studio' is not an address like \"Name <billing@example.com>\"",
        "facturier.toml: mail.bcc: 'archive' is not a valid email address",
    ]


def test_missing_issuer_gives_one_problem(demo: EditableWorkspace) -> None:
    text = (demo.root / CONFIG).read_text("utf-8")
    start, end = text.index("[issuer]"), text.index("[numbering]")
    demo.write(CONFIG, text[:start] + text[end:])
    assert check_workspace(demo.root) == ["facturier.toml: issuer: missing required key"]


def test_bank_csv_settings(demo: EditableWorkspace) -> None:
    demo.append(CONFIG, '\n[bank.csv]\ndelimiter = ";;"\ndate_column = "Date"\namount_column = "Montant"\n'
                'decimal_separator = ","\ndate_format = "dd/mm/yyyy"\nencoding = "klingon"\n')
    assert check_workspace(demo.root) == [
        "facturier.toml: bank.csv.delimiter: must be one character, got ';;'",
        "facturier.toml: bank.csv.text_column: missing required key",
        'facturier.toml: bank.csv.date_format: \'dd/mm/yyyy\' is not a date pattern like "%d/%m/%Y"',
        "facturier.toml: bank.csv.encoding: unknown encoding 'klingon'",
    ]


def test_bank_csv_decimal_comma_needs_another_delimiter(demo: EditableWorkspace) -> None:
    demo.append(CONFIG, '\n[bank.csv]\ndate_column = "Date"\namount_column = "Montant"\n'
                'text_column = "Libellé"\ndecimal_separator = ","\n')
    assert check_workspace(demo.root) == [
        "facturier.toml: bank.csv.decimal_separator: ',' is also the delimiter",
    ]
    demo.append(CONFIG, 'delimiter = ";"\n')
    assert check_workspace(demo.root) == []


def test_late_penalty_for_language() -> None:
    table = TermsConfig.model_validate({"late_penalty": {"fr": "trois fois", "en": "three times"}})
    assert table.late_penalty_for("fr") == "trois fois"
    assert table.late_penalty_for("de") == "three times"
    only_fr = TermsConfig.model_validate({"late_penalty": {"fr": "trois fois"}})
    assert only_fr.late_penalty_for("en") == "trois fois"
    plain = TermsConfig.model_validate({"late_penalty": "10 %"})
    assert plain.late_penalty_for("fr") == plain.late_penalty_for("en") == "10 %"
    assert TermsConfig().late_penalty_for("fr") == "trois fois le taux d'intérêt légal"
