"""`[einvoicing]` in `check`: the platform's keys, secrets by environment variable only, and the
reform's rule on document numbers (PRODUCT.md §13)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

PLATFORM = """
[einvoicing]
mode = "test"
api_url = "http://127.0.0.1:8443/"
token_url = "http://127.0.0.1:8443/oauth2/token"
"""


def _append(ws: Path, text: str, file: str = "facturier.toml") -> None:
    path = ws / file
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _numbering(ws: Path, invoice: str) -> None:
    path = ws / "facturier.toml"
    text = path.read_text(encoding="utf-8").replace('invoice = "{year}-{seq:04d}"', f'invoice = "{invoice}"')
    path.write_text(text, encoding="utf-8")


def test_default_is_off_and_the_demo_stays_valid(ws: Path) -> None:
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert "einvoicing" not in result.text


def test_a_platform_is_checked_key_by_key(ws: Path) -> None:
    _append(ws, '\n[einvoicing]\nmode = "live"\napi_url = "http://pa.example.com"\n'
                'client_secret_env = "s3cr3t value"\nfrobnicate = 1\n')
    result = run_cli(ws, "check")
    assert result.code == 1
    assert "facturier.toml: einvoicing.api_url: 'http://pa.example.com': the platform's token would travel " \
           "in clear" in result.out
    assert 'facturier.toml: einvoicing.token_url: required when mode = "live"' in result.out
    assert "facturier.toml: einvoicing.client_secret_env: is not an environment variable name" in result.out
    assert "s3cr3t" not in result.text  # a secret typed in the file is never repeated
    assert "einvoicing.frobnicate" in result.out


def test_unset_credentials_are_warned_about_by_name_only(ws: Path) -> None:
    _append(ws, PLATFORM)
    result = run_cli(ws, "check", env={"FACTURIER_PA_CLIENT_ID": "abc"})
    assert result.code == 0, result.text
    assert "warning: facturier.toml: einvoicing.client_secret_env: the environment variable " \
           "FACTURIER_PA_CLIENT_SECRET is not set here" in result.out
    assert "client_id_env" not in result.out


def test_numbers_the_reform_forbids_are_refused_when_transmitting(ws: Path) -> None:
    _numbering(ws, "FAC.{year}-{seq:04d}")
    _append(ws, PLATFORM)
    result = run_cli(ws, "check")
    assert result.code == 1
    assert ("facturier.toml: numbering.invoice: 'FAC.{year}-{seq:04d}' uses '.': an e-invoice number may "
            "only use letters, digits, space and - + _ / (French reform)") in result.out


def test_too_long_numbers_count_the_longest_client_id(ws: Path) -> None:
    _numbering(ws, "INVOICE-{client}-{year}{month}-{seq:05d}")
    _append(ws, PLATFORM)
    result = run_cli(ws, "check")
    assert result.code == 1
    # atelier-lumiere is the demo's longest client id: 8 + 15 + 1 + 6 + 1 + 9 characters.
    assert "can give 'INVOICE-atelier-lumiere-202712-999999999', 40 characters: an e-invoice number has " \
           "at most 35" in result.out


def test_a_forbidden_pattern_is_only_a_warning_while_off(ws: Path) -> None:
    _numbering(ws, "FAC.{year}-{seq:04d}")
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert "warning: facturier.toml: numbering.invoice:" in result.out
    assert 'a problem once [einvoicing] mode is not "off"' in result.out


def test_a_batch_seller_has_its_own_platform_and_numbering_rule(ws: Path) -> None:
    path = ws / "batch_clients" / "boulangerie-martin.toml"
    text = path.read_text(encoding="utf-8")
    assert 'numbering = "' in text
    lines = [line if not line.startswith("numbering =") else 'numbering = "BM.{year}.{seq:05d}"'
             for line in text.splitlines()]
    path.write_text("\n".join(lines) + "\n" + PLATFORM, encoding="utf-8")
    result = run_cli(ws, "check")
    assert result.code == 1
    assert "batch_clients/boulangerie-martin.toml: numbering: 'BM.{year}.{seq:05d}' uses '.'" in result.out
    # The issuer's own templates are fine and its mode is off: nothing said of them.
    assert "facturier.toml: numbering" not in result.out


def test_a_french_business_client_without_siren_is_warned_about_when_transmitting(ws: Path) -> None:
    path = ws / "clients" / "acme.toml"
    path.write_text("\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                              if not line.startswith(("siren", "siret"))) + "\n", encoding="utf-8")
    assert "clients/acme.toml: siren" not in run_cli(ws, "check").out  # off: nothing to say
    _append(ws, PLATFORM)
    result = run_cli(ws, "check", env={"FACTURIER_PA_CLIENT_ID": "a", "FACTURIER_PA_CLIENT_SECRET": "b"})
    assert result.code == 0, result.text
    assert ("warning: clients/acme.toml: siren: a business client in France without a SIREN: its invoices cannot "
            "be transmitted") in result.out


def test_a_url_with_credentials_or_a_service_path_is_refused_without_repeating_it(ws: Path) -> None:
    _append(ws, '\n[einvoicing]\nmode = "live"\napi_url = "https://pa.example/afnor-flow/v1/"\n'
                'token_url = "https://me:Hunter2pw@pa.example/oauth2/token"\n')
    result = run_cli(ws, "check")
    assert result.code == 1
    assert "facturier.toml: einvoicing.api_url: 'https://pa.example/afnor-flow/v1/' is the URL of one service " \
           "(/afnor-flow/v1): give the platform's base URL" in result.out
    assert "facturier.toml: einvoicing.token_url: has a user name or password in it" in result.out
    assert "Hunter2pw" not in result.text


def test_a_url_whose_port_is_not_a_number_is_a_problem_not_a_traceback(ws: Path) -> None:
    _append(ws, '\n[einvoicing]\nmode = "live"\napi_url = "https://pa.example:44x3"\n'
                'token_url = "https://pa.example/oauth2/token"\n')
    result = run_cli(ws, "check")
    assert result.code == 1 and "Traceback" not in result.text
    assert "facturier.toml: einvoicing.api_url: is not a URL (its host or port cannot be read)" in result.out
