"""QA of the Factur-X XML against what the invoice says: edge documents issued from the CLI,
their embedded XML read back with pikepdf and checked with the offline schematrons."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pikepdf
import pypdf
import pytest
from lxml import etree

from facturier.core.invoice import Party, VatRegime
from facturier.render import facturx as fx
from tests.conftest import copy_demo, journal, run_cli
from tests.render.test_render_facturx import FRANCHISE_SELLER, SELLER, document, fatal

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"

USD_CLIENT = """name = "Acme Corp USA"
email = "ap@acme-us.example"
address = ["1 Main Street", "New York, NY 10001"]
country = "US"
language = "en"
currency = "USD"
[[lines]]
description = "Consulting"
unit_price = "1000.00"
vat_rate = "20"
"""

EXPORT_CLIENT = """name = "Tokyo Trading KK"
email = "ap@tokyo.example"
address = ["1-1 Marunouchi", "Tokyo 100-0005"]
country = "JP"
language = "en"
currency = "EUR"
vat_regime = "exempt"
operation_category = "goods"
[[lines]]
description = "Widgets"
quantity = "10"
unit_price = "12.5"
"""


def pdf_of(ws: Path, number: str) -> Path:
    """The PDF of an issued document, from its journal entry."""
    [entry] = [e for e in journal(ws) if e.get("number") == number and e["type"].endswith(".issued")]
    return ws / entry["files"]["pdf"]["path"]


def xml_of(ws: Path, number: str) -> etree._Element:
    """The factur-x.xml embedded in a document's PDF."""
    with pikepdf.open(pdf_of(ws, number)) as pdf:
        return etree.fromstring(bytes(pdf.attachments["factur-x.xml"].get_file().read_bytes()))


def text_of(ws: Path, number: str) -> str:
    """The printed text of a document's first page."""
    return pypdf.PdfReader(pdf_of(ws, number)).pages[0].extract_text()


def numbers_by_client(ws: Path) -> dict[str, str]:
    """Client id -> number of its invoice."""
    return {e["client"]: e["number"] for e in journal(ws) if e["type"] == "invoice.issued"}


def test_a_foreign_currency_invoice_states_its_vat_in_euros(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "usd.toml").write_text(USD_CLIENT, encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as config:
        config.write('\n[accounting]\nexchange_rates = { USD = "0.9210", GBP = "1.1650" }\n')
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    numbers = numbers_by_client(ws)
    xml = xml_of(ws, numbers["usd"])
    assert xml.findtext(".//ram:TaxCurrencyCode", namespaces=NS) == "EUR"  # BT-6
    totals = {t.get("currencyID"): t.text for t in xml.iterfind(".//ram:TaxTotalAmount", NS)}
    assert totals == {"USD": "200.00", "EUR": "184.20"}  # BT-110, BT-111
    assert "VAT in euros (1 USD = €0.921) €184.20" in text_of(ws, numbers["usd"])
    # Reverse charge in GBP: no VAT, stated as 0.00 EUR.
    northwind = xml_of(ws, numbers["northwind"])
    assert {t.get("currencyID"): t.text for t in northwind.iterfind(".//ram:TaxTotalAmount", NS)} == {
        "GBP": "0.00", "EUR": "0.00"}
    # A euro invoice carries no accounting currency.
    assert xml_of(ws, numbers["acme"]).find(".//ram:TaxCurrencyCode", NS) is None
    # SEPA is euros only: a transfer in another currency is a plain credit transfer (30).
    means = ".//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode"
    assert xml_of(ws, numbers["acme"]).findtext(means, namespaces=NS) == "58"
    assert northwind.findtext(means, namespaces=NS) == "30"
    assert xml.findtext(means, namespaces=NS) == "30"
    # A partial credit note undoes the VAT at the invoice's rate, even once the rate changed.
    config = (ws / "facturier.toml").read_text(encoding="utf-8").replace("0.9210", "0.9500")
    (ws / "facturier.toml").write_text(config, encoding="utf-8")
    result = run_cli(ws, "credit", numbers["usd"], "--amount", "120.00", "--date", "2026-11-20")
    assert result.code == 0, result.text
    credit = xml_of(ws, "AV-2026-0001")
    assert {t.get("currencyID"): t.text for t in credit.iterfind(".//ram:TaxTotalAmount", NS)} == {
        "USD": "20.00", "EUR": "18.42"}
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text


def test_an_exempt_export_of_goods_cites_the_export_exemption(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "export.toml").write_text(EXPORT_CLIENT, encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["export"]
    xml = xml_of(ws, number)
    assert xml.findtext(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode",
                        namespaces=NS) == "G"
    reason = "VAT exempt, export of goods, art. 262 I of the French General Tax Code"
    assert xml.findtext(".//ram:ExemptionReason", namespaces=NS) == reason
    assert reason in text_of(ws, number)
    assert "259-1" not in text_of(ws, number)  # the place-of-supply rule of services
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text


def test_a_postcode_after_the_city_is_read_as_the_postcode(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "usd.toml").write_text(USD_CLIENT, encoding="utf-8")
    (ws / "clients" / "export.toml").write_text(EXPORT_CLIENT, encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as config:
        config.write('\n[accounting]\nexchange_rates = { USD = "0.9210" }\n')
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    numbers = numbers_by_client(ws)
    expected = {"northwind": ("NW1 6XE", "London", None), "usd": ("10001", "New York", "NY"),
                "export": ("100-0005", "Tokyo", None), "acme": ("69006", "Lyon", None)}
    for client, (postcode, city, region) in expected.items():
        buyer = xml_of(ws, numbers[client]).find(".//ram:BuyerTradeParty/ram:PostalTradeAddress", NS)
        assert buyer is not None
        found = tuple(buyer.findtext(f"ram:{tag}", namespaces=NS)
                      for tag in ("PostcodeCode", "CityName", "CountrySubDivisionName"))
        assert found == (postcode, city, region), client


def test_a_batch_row_reference_is_the_sales_order_reference(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    inbox.mkdir(parents=True)
    (inbox / "orders.csv").write_text(
        "reference,date,customer_name,customer_address,description,quantity,unit_price\n"
        "CMD-77,2026-11-02,Café du Parc,12 rue du Parc | 69003 Lyon,Pain,3.125,1.23456\n", encoding="utf-8")
    result = run_cli(ws, "batch", "--date", "2026-11-15")
    assert result.code == 0, result.text
    xml = xml_of(ws, "BM-2026-00001")
    assert xml.find(".//ram:BuyerReference", NS) is None  # BT-10 is the buyer's, for its routing
    assert xml.findtext(".//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "CMD-77"
    assert xml.findtext(".//ram:BilledQuantity", namespaces=NS) == "3.125"
    assert xml.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "4.07"  # 3.86 + 5.5 % VAT 0.21
    assert run_cli(ws, "credit", "BM-2026-00001", "--date", "2026-11-20").code == 0
    credit = xml_of(ws, "AV-BM-2026-00001")
    assert credit.findtext(".//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "CMD-77"
    assert credit.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "BM-2026-00001"


GOODS_TO_GERMANY = """name = "Berlin GmbH"
email = "ap@berlin.example"
address = ["Unter den Linden 1", "10117 Berlin"]
country = "DE"
vat_id = "DE136695976"
language = "en"
currency = "EUR"
vat_regime = "reverse_charge"
operation_category = "goods"
[[lines]]
description = "Widgets"
quantity = "10"
unit_price = "12.5"
"""


def test_goods_to_a_business_of_another_eu_state_are_an_intra_community_supply(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "berlin.toml").write_text(GOODS_TO_GERMANY, encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["berlin"]
    assert run_cli(ws, "credit", number, "--amount", "50.00", "--date", "2026-11-20").code == 0
    mention = "VAT exempt, intra-EU supply of goods, art. 262 ter I of the French General Tax Code"
    for doc in (number, "AV-2026-0001"):
        xml = xml_of(ws, doc)
        assert {c.text for c in xml.iterfind(".//ram:CategoryCode", NS)} == {"K"}
        assert xml.findtext(".//ram:ExemptionReasonCode", namespaces=NS) == "VATEX-EU-IC"
        assert xml.findtext(".//ram:ExemptionReason", namespaces=NS) == mention
        # BR-IC-12: the country the goods go to; BR-IC-11: the supply's date or period.
        assert xml.findtext(".//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID", namespaces=NS) == "DE"
        assert xml.findtext(".//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString",
                            namespaces={**NS, "udt": UDT}) == "20261101"
        text = " ".join(text_of(ws, doc).split())
        assert mention in text and "Autoliquidation" not in text
    # Services to the same client stay a reverse charge (AE).
    services = GOODS_TO_GERMANY.replace('operation_category = "goods"', 'operation_category = "services"')
    (ws / "clients" / "berlin.toml").write_text(services, encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    december = [e["number"] for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "berlin"][-1]
    assert xml_of(ws, december).findtext(".//ram:CategoryCode", namespaces=NS) == "AE"
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text
    assert "BR-IC" not in checked.text


def test_check_warns_of_vat_settings_that_misstate_a_client_s_invoices(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "usd.toml").write_text(USD_CLIENT, encoding="utf-8")
    french = EXPORT_CLIENT.replace('country = "JP"', 'country = "FR"').replace('"Tokyo 100-0005"', '"75001 Paris"')
    (ws / "clients" / "paris.toml").write_text(french, encoding="utf-8")
    italian = EXPORT_CLIENT.replace('country = "JP"', 'country = "IT"').replace('operation_category = "goods"\n', "")
    (ws / "clients" / "roma.toml").write_text(italian, encoding="utf-8")
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert "clients/usd.toml: currency: an invoice in USD with VAT must also state its VAT in euros" in result.out
    assert 'clients/paris.toml: vat_regime: "exempt" prints an exemption for a client outside FR' in result.out
    assert ('clients/roma.toml: vat_regime: services to a business of another EU state are not "exempt" '
            'but "reverse_charge"') in result.out
    assert "export.toml" not in result.out and "northwind" not in result.out
    assert "boulangerie-martin" not in result.out
    batch = (ws / "batch_clients" / "boulangerie-martin.toml").read_text(encoding="utf-8")
    (ws / "batch_clients" / "boulangerie-martin.toml").write_text(
        batch.replace('currency = "EUR"', 'currency = "GBP"'), encoding="utf-8")
    assert ("batch_clients/boulangerie-martin.toml: currency: an invoice in GBP with VAT must also state "
            "its VAT in euros") in run_cli(ws, "check").out
    with (ws / "facturier.toml").open("a", encoding="utf-8") as config:
        config.write('\n[accounting]\nexchange_rates = { USD = "0.9210" }\n')
    assert "usd.toml" not in run_cli(ws, "check").out


BUYERS = {country: Party(f"Buyer {country}", ("1 Main Street", city), country, vat_id=vat_id)
          for country, city, vat_id in (("FR", "69006 Lyon", "FR64443061841"), ("DE", "10117 Berlin", "DE136695976"),
                                        ("GB", "London NW1 6XE", "GB980780684"), ("US", "New York, NY 10001", None))}
SITUATIONS = [(seller, regime, category, country, currency, kind)
              for seller in ("with VAT number", "franchise")
              for regime in (("standard", "reverse_charge", "exempt") if seller != "franchise"
                             else ("franchise", "reverse_charge", "exempt"))
              for category in ("services", "goods", "mixed")
              for country in BUYERS for currency in ("EUR", "USD") for kind in ("invoice", "credit_note")
              if not (regime == "reverse_charge" and BUYERS[country].vat_id is None)]


@pytest.mark.parametrize(("seller", "regime", "category", "country", "currency", "kind"), SITUATIONS)
def test_every_vat_situation_is_an_xml_the_schematrons_accept(seller: str, regime: VatRegime, category: str,
                                                             country: str, currency: str, kind: str) -> None:
    """What issuance checks (the XSD) is not all the EN 16931 rules: every situation a
    configuration allows must also pass the schematrons (BR-G-02 failed for a seller in
    franchise exporting goods: G needs a seller VAT number)."""
    changes = {"kind": kind, "number": "AV-2026-0001",
               "refers_to": {"number": "2026-0001", "date": "2026-11-15"}} if kind == "credit_note" else {}
    doc = document(regime, currency=currency, buyer=BUYERS[country], operation_category=category,
                   seller=FRANCHISE_SELLER if seller == "franchise" else SELLER,
                   eur_rate=Decimal("0.9210") if currency == "USD" else None, **changes)
    assert fatal(fx.facturx_xml(doc.to_record())) == []


def test_a_credit_note_s_reason_is_in_its_xml_as_printed(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["acme"]
    result = run_cli(ws, "credit", number, "--amount", "100.00", "--date", "2026-11-20",
                     "--reason", "Geste commercial & <remise>")
    assert result.code == 0, result.text
    xml = xml_of(ws, "AV-2026-0001")
    notes = {n.findtext("ram:SubjectCode", namespaces=NS): n.findtext("ram:Content", namespaces=NS)
             for n in xml.iterfind(".//ram:IncludedNote", NS)}
    assert notes["ACD"] == "Motif : Geste commercial & <remise>"
    assert "Motif : Geste commercial & <remise>" in text_of(ws, "AV-2026-0001")
    assert "ACD" not in {n.findtext("ram:SubjectCode", namespaces=NS)
                         for n in xml_of(ws, number).iterfind(".//ram:IncludedNote", NS)}
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text


def test_payment_terms_of_zero_and_one_day_read_as_words(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    acme = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    (ws / "clients" / "acme.toml").write_text(acme.replace('active = true', 'active = true\npayment_days = 0'),
                                              encoding="utf-8")
    northwind = (ws / "clients" / "northwind.toml").read_text(encoding="utf-8")
    (ws / "clients" / "northwind.toml").write_text(
        northwind.replace("payment_days = 45", "payment_days = 1"), encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    numbers = numbers_by_client(ws)
    for client, terms in (("acme", "Paiement à réception"), ("northwind", "Payment within 1 day")):
        xml = xml_of(ws, numbers[client])
        assert xml.findtext(".//ram:SpecifiedTradePaymentTerms/ram:Description", namespaces=NS) == terms
        assert terms in text_of(ws, numbers[client])


def test_an_iban_without_bic_is_printed_as_the_xml_states_it(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    config = (ws / "facturier.toml").read_text(encoding="utf-8")
    (ws / "facturier.toml").write_text(config.replace('bic = "AGRIFRPP"\n', ""), encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["acme"]
    assert xml_of(ws, number).findtext(".//ram:IBANID", namespaces=NS) == "FR7630006000011234567890189"
    assert "FR76 3000 6000 0112 3456 7890 189" in text_of(ws, number)


def test_a_vat_in_euros_that_is_not_the_vat_at_its_rate_is_refused() -> None:
    record = document(currency="USD", eur_rate=Decimal("0.9210")).to_record()
    assert record["vat_accounting"] == {"currency": "EUR", "rate": "0.9210", "amount": "84.79"}
    fx.facturx_xml(record)
    record["vat_accounting"]["amount"] = "84.80"
    with pytest.raises(fx.EInvoiceError, match="VAT in euros 84.80 is not 92.06 at 0.9210"):
        fx.facturx_xml(record)


def test_a_currency_with_three_decimals_is_refused_for_invoicing(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    kuwait = USD_CLIENT.replace('currency = "USD"', 'currency = "KWD"').replace('vat_rate = "20"', 'vat_rate = "0"')
    (ws / "clients" / "kuwait.toml").write_text(kuwait, encoding="utf-8")
    batch = (ws / "batch_clients" / "boulangerie-martin.toml").read_text(encoding="utf-8")
    (ws / "batch_clients" / "boulangerie-martin.toml").write_text(
        batch.replace('currency = "EUR"', 'currency = "BHD"'), encoding="utf-8")
    result = run_cli(ws, "run", "--date", "2026-11-15")
    assert result.code != 0 and "Traceback" not in result.text
    assert ("clients/kuwait.toml: currency: KWD amounts have 3 decimals, but the Factur-X (EN 16931) "
            "every invoice embeds carries at most 2") in result.err
    assert "batch_clients/boulangerie-martin.toml: currency: BHD amounts have 3 decimals" in result.err
    assert not any(e["type"] == "invoice.issued" for e in journal(ws))


def test_check_warns_of_a_reverse_charge_without_the_issuer_s_vat_number(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    config = (ws / "facturier.toml").read_text(encoding="utf-8").replace('vat_regime = "standard"',
                                                                          'vat_regime = "franchise"')
    (ws / "facturier.toml").write_text(config.replace('vat_id = "FR44732829320"\n', ""), encoding="utf-8")
    acme = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    (ws / "clients" / "acme.toml").write_text(acme.replace('vat_regime = "standard"\n', ""), encoding="utf-8")
    (ws / "clients" / "berlin.toml").write_text(GOODS_TO_GERMANY, encoding="utf-8")
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert ("clients/berlin.toml: vat_regime: a reverse charge or intra-community supply prints both VAT "
            "numbers, and the issuer has none") in result.out
    assert "clients/northwind.toml: vat_regime: a reverse charge" in result.out
    assert "acme.toml" not in result.out


def test_goods_to_a_business_outside_the_eu_are_an_export_even_under_reverse_charge(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    northwind = (ws / "clients" / "northwind.toml").read_text(encoding="utf-8")
    (ws / "clients" / "northwind.toml").write_text(
        northwind.replace("[options]", 'operation_category = "goods"\n\n[options]', 1), encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["northwind"]
    xml = xml_of(ws, number)
    assert {c.text for c in xml.iterfind(".//ram:CategoryCode", NS)} == {"G"}
    mention = "VAT exempt, export of goods, art. 262 I of the French General Tax Code"
    assert xml.findtext(".//ram:ExemptionReason", namespaces=NS) == mention
    text = " ".join(text_of(ws, number).split())
    assert mention in text and "Autoliquidation" not in text
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text


@pytest.mark.parametrize(("line", "country", "expected"), [
    ("75011 Paris", "FR", ("75011", "Paris", None)), ("D-10117 Berlin", "DE", ("D-10117", "Berlin", None)),
    ("SW1A 1AA London", "GB", ("SW1A 1AA", "London", None)), ("London NW1 6XE", "GB", ("NW1 6XE", "London", None)),
    ("Tokyo 100-0005", "JP", ("100-0005", "Tokyo", None)),
    ("San Francisco, CA 94105", "US", ("94105", "San Francisco", "CA")),
    ("Toronto, ON M5V 2T6", "CA", ("M5V 2T6", "Toronto", "ON")),
    ("1012 AB Amsterdam", "NL", ("1012 AB", "Amsterdam", None)), ("1000 Bruxelles", "BE", ("1000", "Bruxelles", None)),
    ("Dublin 2", "IE", (None, "Dublin 2", None)), ("Paris", "FR", (None, "Paris", None)),
])
def test_an_address_s_last_line_is_read_in_its_country_s_order(line: str, country: str,
                                                              expected: tuple[str | None, ...]) -> None:
    address = etree.Element("root")
    fx._address(address, {"address": ["1 Main Street", line], "country": country})
    found = tuple(address.findtext(f"ram:PostalTradeAddress/ram:{tag}", namespaces=NS)
                  for tag in ("PostcodeCode", "CityName", "CountrySubDivisionName"))
    assert found == expected


METERED = """name = "Meter SAS"
email = "a@meter.example"
address = ["1 rue de la Paix", "75002 Paris"]
country = "FR"
siren = "443061841"
vat_id = "FR64443061841"
language = "fr"
currency = "EUR"
end_date = "2026-11-19"
prorate = true
[[lines]]
description = "Abonnement"
unit_price = "99.99"
[[lines]]
description = "API calls"
metric = "api_calls"
pricing = "graduated"
included = "100"
vat_rate = "10"
[[lines.tiers]]
up_to = "1000"
unit_price = "0.0125"
[[lines.tiers]]
unit_price = "0.001234"
[[discounts]]
percent = "12.5"
"""


def line_periods(xml: etree._Element) -> list[tuple[str, list[str]]]:
    """(name, [start, end] of its own period) of each line."""
    dates = ".//ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod//udt:DateTimeString"
    return [(item.findtext(".//ram:SpecifiedTradeProduct/ram:Name", namespaces=NS) or "",
             [d.text or "" for d in item.iterfind(dates, {**NS, "udt": UDT})])
            for item in xml.iterfind(".//ram:IncludedSupplyChainTradeLineItem", NS)]


def test_metered_and_prorated_lines_carry_the_days_they_bill(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "clients" / "meter.toml").write_text(METERED, encoding="utf-8")
    assert run_cli(ws, "usage", "record", "meter", "api_calls", "12445.5", "--date", "2026-10-20").code == 0
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = numbers_by_client(ws)["meter"]
    assert run_cli(ws, "credit", number, "--date", "2026-11-20").code == 0
    for doc in (number, "AV-2026-0001"):
        periods = line_periods(xml_of(ws, doc))
        assert periods[0][0].startswith("Abonnement (au prorata de 19 jours sur 30")
        assert periods[0][1] == ["20261101", "20261119"]  # the prorated days
        metered = [dates for name, dates in periods if name.startswith("API calls")]
        assert len(metered) == 2 and all(d == ["20261001", "20261031"] for d in metered)  # October's usage
        assert all(dates == [] for name, dates in periods if name.startswith("Remise"))
    checked = run_cli(ws, "verify", "--einvoice")
    assert checked.code == 0, checked.text


def test_show_prints_no_vat_rate_on_a_reverse_charge_invoice(ws: Path) -> None:
    """northwind (a UK business) is invoiced under reverse charge: its lines bear no VAT, as its
    PDF and XML say, while its configured lines name a 20 % rate; `show` said "(VAT 20%)"."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    number = next(e["number"] for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "northwind")
    shown = run_cli(ws, "show", number)
    assert shown.code == 0, shown.text
    assert "(no VAT: reverse charge)" in shown.out and "(VAT 20%)" not in shown.out, shown.out
    acme = next(e["number"] for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "acme")
    assert "(VAT 20%)" in run_cli(ws, "show", acme).out
