"""212 Encaissée on payment (PRODUCT §13): a services invoice with VAT due on receipt reports each
payment once to the loopback platform, as a CDAR that passes its XSD and schematron."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lxml import etree

from tests.cli.test_einvoicing import DAY, SCHEMATRON, cli, of_type
from tests.pa_server import LoopbackPA

RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"



def setup(ws: Path, pa: LoopbackPA, issuer_extra: str = "") -> str:
    path = ws / "facturier.toml"
    text = path.read_text(encoding="utf-8").replace('bic = "AGRIFRPP"\n', f'bic = "AGRIFRPP"\n{issuer_extra}')
    path.write_text(text + pa.config(), encoding="utf-8")
    assert cli(ws, "run", "--date", DAY).code == 0
    [done] = of_type(ws, "einvoice.transmitted")
    return str(done["number"])


def paid_flows(pa: LoopbackPA) -> list[bytes]:
    return [f.content for f in pa.state.sent(syntax="CDAR")]


def amounts(xml: bytes) -> list[tuple[str, str]]:
    root = etree.fromstring(xml)
    return [(a.text or "", a.getnext().text or "") for a in root.iter(f"{RAM}ValueAmount")]  # type: ignore[union-attr]


def test_each_payment_of_a_services_invoice_is_reported_once(ws: Path, pa: LoopbackPA, tmp_path: Path) -> None:
    number = setup(ws, pa)
    assert cli(ws, "pay", "acme", "300.00", "--date", "2027-10-01").code == 0
    preview = cli(ws, "transmit", "--date", "2027-10-01", "--dry-run")  # the 212 due is listed, not sent
    assert f"{number}\tissuer\tacme\twould send 212\tEncaissée 300.00 EUR (payment of 2027-10-01)" in preview.out
    assert paid_flows(pa) == []
    first = cli(ws, "transmit", "--date", "2027-10-01")
    assert first.code == 0, first.text
    assert f"{number}\tissuer\tacme\t212 sent\tEncaissée 300.00 EUR (payment of 2027-10-01)" in first.out
    assert cli(ws, "pay", "acme", "527.88", "--date", "2027-10-20").code == 0
    assert cli(ws, "run", "--date", "2027-10-20").code == 0  # run transmits, hence reports, too
    flows = paid_flows(pa)
    assert [amounts(x) for x in flows] == [[("300.00", "20")], [("527.88", "20")]]
    statuses = of_type(ws, "einvoice.status")
    assert [(s["code"], s["direction"], s["amount"]) for s in statuses] == [
        ("212", "out", "300.00"), ("212", "out", "527.88")]
    assert cli(ws, "transmit", "--date", "2027-10-21").code == 0
    assert len(paid_flows(pa)) == 2
    assert "212 Encaissée" in cli(ws, "invoices").out
    paths = []
    for index, xml in enumerate(flows):
        paths.append(tmp_path / f"paid{index}.xml")
        paths[-1].write_bytes(xml)
    out = subprocess.run([sys.executable, "-c", SCHEMATRON, *map(str, paths)], capture_output=True, text=True,
                         timeout=300, check=True).stdout.splitlines()
    assert [int(line.split()[1]) for line in out] == [0, 0], out
    assert cli(ws, "verify").code == 0


def test_a_212_interrupted_after_its_send_is_found_not_sent_again(ws: Path, pa: LoopbackPA) -> None:
    setup(ws, pa)
    assert cli(ws, "pay", "acme", "827.88", "--date", "2027-10-01").code == 0
    # The platform stores the 212 but the answer never comes back (a dropped connection).
    pa.state.on_submit = lambda flow: (_ for _ in ()).throw(ConnectionAbortedError())
    result = cli(ws, "transmit", "--date", "2027-10-01")
    assert result.code == 1
    assert len(paid_flows(pa)) == 1 and of_type(ws, "einvoice.status") == []
    pa.state.on_submit = None
    again = cli(ws, "transmit", "--date", "2027-10-02")
    assert again.code == 0, again.text
    assert len(paid_flows(pa)) == 1 and len(of_type(ws, "einvoice.status")) == 1


def test_no_212_on_vat_on_debits(ws: Path, pa: LoopbackPA) -> None:
    setup(ws, pa, issuer_extra="vat_on_debits = true\n")
    assert cli(ws, "pay", "acme", "827.88", "--date", "2027-10-01").code == 0
    assert cli(ws, "transmit", "--date", "2027-10-01").code == 0
    assert paid_flows(pa) == [] and of_type(ws, "einvoice.status") == []
