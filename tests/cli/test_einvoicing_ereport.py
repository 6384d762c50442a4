"""`facturier ereport` (PRODUCT §13): the Flux 10 transactions and payments files of a period, built
from the documents routed to e-reporting, checked offline (XSD and schematron), sent once to the
loopback platform. `ereport` runs in a real process: saxonche aborts in this threaded one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_einvoicing import SCHEMATRON, cli, of_type
from tests.conftest import run_cli_process
from tests.pa_server import ENV, LoopbackPA

CONSUMER = """name = "Jeanne Martin"
email = "jeanne@example.com"
address = ["3 rue Basse", "44000 Nantes"]
country = "FR"
business = false
language = "fr"
currency = "EUR"

[[lines]]
description = "Cours particulier"
unit_price = "100.00"
"""



@pytest.fixture
def rws(ws: Path, pa: LoopbackPA) -> Path:
    """The demo with a consumer client, e-reporting through the loopback platform from 2027-09."""
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2027-09-01") + 'platform_id = "0042"\n',
                    encoding="utf-8")
    (ws / "clients" / "martin.toml").write_text(CONSUMER, encoding="utf-8")
    assert cli(ws, "run", "--date", "2027-09-15").code == 0
    assert cli(ws, "pay", "martin", "50", "--date", "2027-09-20").code == 0
    return ws


def ereport(ws: Path, *args: str) -> subprocess.CompletedProcess[str] | object:
    return run_cli_process(ws, "ereport", *args, env=ENV)


def test_a_month_is_e_reported_once_with_valid_files(rws: Path, pa: LoopbackPA, tmp_path: Path) -> None:
    warned = cli(rws, "check")
    assert "warning: facturier.toml: einvoicing: the e-report of 2027-09 (transactions) is not sent (due by " \
           "2027-10-31): run `facturier ereport`" in warned.out
    consumer = next(e["number"] for e in of_type(rws, "invoice.issued") if e["client"] == "martin")
    assert "e-reported, not transmitted; e-report of 2027-09 (transactions) not sent yet, due by 2027-10-31" \
        in cli(rws, "show", consumer).out
    preview = run_cli_process(rws, "ereport", "--date", "2027-10-02", "--dry-run", env=ENV)
    assert preview.code == 0, preview.text
    assert "2027-09\ttransactions\twould send\t2\tvalid (XSD and schematron), due by 2027-10-31" in preview.out
    assert pa.state.sent(syntax="FRR") == []
    result = run_cli_process(rws, "ereport", "--date", "2027-10-02", env=ENV)
    assert result.code == 0, result.text
    files = pa.state.sent(syntax="FRR")
    assert [f.name for f in files] == ["FRR_transactions_2027-09.xml", "FRR_payments_2027-09.xml"]
    sent = of_type(rws, "ereport.sent")
    assert [(e["kind"], e["period"], e["count"], e["flow_id"]) for e in sent] == [
        ("transactions", "2027-09", 2, files[0].flow_id), ("payments", "2027-09", 1, files[1].flow_id)]
    assert f"e-report of 2027-09 (transactions) sent as flow {files[0].flow_id}" in cli(rws, "show", consumer).out
    transactions = files[0].content.decode()
    # Northwind (GB) one by one, the consumer's sale summed for the day; ACME went to the platform.
    assert "<ID>2027-0003</ID>" in transactions and "<CategoryCode>TPS1</CategoryCode>" in transactions
    assert "2027-0001" not in transactions
    import pyfrctc

    paths = []
    for f in files:
        pyfrctc.check_ereporting_xsd(f.content)
        paths.append(tmp_path / f.name)
        paths[-1].write_bytes(f.content)
    script = SCHEMATRON.replace("cdar-schematron/BR-FR-CDV-Schematron-CDAR.xslt", "frr-schematron/Flux10.xslt")
    out = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                         timeout=300, check=True).stdout.splitlines()
    assert [int(line.split()[1]) for line in out] == [0, 0], out
    again = run_cli_process(rws, "ereport", "--date", "2027-10-02", env=ENV)
    assert again.code == 0 and "Nothing to e-report" in again.out
    preview_again = run_cli_process(rws, "ereport", "--date", "2027-10-02", "--dry-run", env=ENV)
    assert preview_again.code == 0 and "Nothing to e-report" in preview_again.out  # said, not an empty output
    assert len(pa.state.sent(syntax="FRR")) == 2
    assert "the e-report of 2027-09" not in cli(rws, "check").out
    assert cli(rws, "verify").code == 0


def test_a_report_whose_answer_was_lost_is_found_not_sent_again(rws: Path, pa: LoopbackPA) -> None:
    pa.state.on_submit = lambda flow: (_ for _ in ()).throw(ConnectionAbortedError())
    lost = run_cli_process(rws, "ereport", "--date", "2027-10-02", env=ENV)
    assert lost.code == 1 and "stays due" in lost.text
    assert len(pa.state.sent(syntax="FRR")) == 1 and of_type(rws, "ereport.sent") == []
    pa.state.on_submit = None
    result = run_cli_process(rws, "ereport", "--date", "2027-10-02", env=ENV)
    assert result.code == 0, result.text
    assert len(pa.state.sent(syntax="FRR")) == 2 and len(of_type(rws, "ereport.sent")) == 2


def test_wrong_periods_and_a_missing_platform_id_are_clear_errors(rws: Path) -> None:
    bad = cli(rws, "ereport", "--date", "2027-10-02", "--period", "2027-9")
    assert bad.code == 1 and "Error: --period '2027-9': expected YYYY-MM, e.g. 2027-09" in bad.text
    early = cli(rws, "ereport", "--date", "2027-10-02", "--period", "2027-10")
    assert early.code == 1 and "the period ends on 2027-10-31; it can be reported from the day after" in early.text
    path = rws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('platform_id = "0042"\n', ""), encoding="utf-8")
    missing = cli(rws, "ereport", "--date", "2027-10-02")
    assert missing.code == 1 and "Error: facturier.toml: einvoicing.platform_id: required to e-report" in missing.text


def test_the_whole_year_against_the_platform(rws: Path, pa: LoopbackPA) -> None:
    """Issue, transmit, statuses (a 213 and a 210), a credit note, partial and full payments with
    212, the e-report of a month with a consumer's sale, then verify."""
    numbers = {e["client"]: e["number"] for e in of_type(rws, "invoice.issued")}
    september = numbers["acme"]
    pa.emit_status(september, "200")
    pa.emit_status(september, "213", reason="SIREN du client inconnu")
    rejected = cli(rws, "statuses", "--date", "2027-09-18")
    assert rejected.code == 1 and f"{september} was Rejetée (213): SIREN du client inconnu" in rejected.text
    credit = cli(rws, "credit", september, "--reason", "Rejetée par la plateforme", "--date", "2027-09-20")
    assert credit.code == 0, credit.text
    assert cli(rws, "transmit", "--date", "2027-09-20").code == 0
    [avoir] = of_type(rws, "credit_note.issued")
    assert avoir["number"] in {e["number"] for e in of_type(rws, "einvoice.transmitted")}
    assert cli(rws, "run", "--date", "2027-10-15").code == 0
    october = next(e["number"] for e in of_type(rws, "invoice.issued")
                   if e["client"] == "acme" and e["date"] == "2027-10-15")
    pa.emit_status(october, "210", reason="Prestation non commandée")
    assert "was Refusée (210): Prestation non commandée" in cli(rws, "statuses", "--date", "2027-10-18").text
    assert cli(rws, "run", "--date", "2027-11-15").code == 0
    november = next(e["number"] for e in of_type(rws, "invoice.issued")
                    if e["client"] == "acme" and e["date"] == "2027-11-15")
    pa.emit_status(november, "205")
    assert cli(rws, "statuses", "--date", "2027-11-16").code == 0
    assert cli(rws, "pay", "acme", "400.00", "--invoice", november, "--date", "2027-11-20").code == 0
    assert cli(rws, "pay", "acme", "427.88", "--invoice", november, "--date", "2027-12-01").code == 0
    assert cli(rws, "transmit", "--date", "2027-12-01").code == 0
    paid = [(e["number"], e["amount"]) for e in of_type(rws, "einvoice.status") if e["direction"] == "out"]
    assert paid == [(november, "400.00"), (november, "427.88")]
    report = run_cli_process(rws, "ereport", "--date", "2027-10-05", "--period", "2027-09", env=ENV)
    assert report.code == 0, report.text
    assert "2027-09\ttransactions\tsent\t2" in report.out
    listing = cli(rws, "invoices").out
    assert f"{september}\t" in listing and "213 Rejetée" in listing and "210 Refusée" in listing
    assert "212 Encaissée" in listing
    assert len(pa.state.sent(syntax="Factur-X")) == 4  # Sep, its credit note, Oct, Nov: each once
    assert cli(rws, "verify").code == 0


def test_a_batch_seller_with_a_platform_id_e_reports_its_sales_to_consumers(tmp_path: Path, pa: LoopbackPA) -> None:
    """A batch seller's invoices exist only in Facturier: its sales to consumers are e-reported
    through its own account (transactions; its payments are not recorded here)."""
    from tests.conftest import copy_demo

    ws = copy_demo(tmp_path / "bws", with_inbox=True)
    seller = ws / "batch_clients" / "boulangerie-martin.toml"
    seller.write_text(seller.read_text(encoding="utf-8") + pa.config(since="2026-11-01"), encoding="utf-8")
    assert cli(ws, "batch", "--date", "2026-11-30").code == 0
    sales = [e for e in of_type(ws, "invoice.issued") if e["seller"] == "boulangerie-martin"]
    assert sales and "the e-report" not in cli(ws, "check").text  # no platform_id: left to its own software
    assert "No seller e-reports through Facturier (a batch seller does with a platform_id in its [einvoicing]): " \
           "nothing to e-report." in cli(ws, "ereport", "--date", "2026-12-01").text
    seller.write_text(seller.read_text(encoding="utf-8") + 'platform_id = "0042"\n', encoding="utf-8")
    due = cli(ws, "check")
    assert "warning: batch_clients/boulangerie-martin.toml: einvoicing: the e-report of 2026-11 " \
           "(transactions) is not sent" in due.text and "(payments)" not in due.text
    result = ereport(ws, "--date", "2026-12-01")
    assert result.code == 0, result.text
    assert f"2026-11\ttransactions\tsent\t{len(sales)}\t" in result.out and "boulangerie-martin" in result.out
    [flow] = pa.state.sent(syntax="FRR")
    assert b"823456785" in flow.content and flow.name == "FRR_transactions_2026-11.xml"
    [sent] = of_type(ws, "ereport.sent")
    assert (sent["seller"], sent["kind"], sent["count"]) == ("boulangerie-martin", "transactions", len(sales))
    (tmp_path / flow.name).write_bytes(flow.content)
    script = SCHEMATRON.replace("cdar-schematron/BR-FR-CDV-Schematron-CDAR.xslt", "frr-schematron/Flux10.xslt")
    checked = subprocess.run([sys.executable, "-c", script, str(tmp_path / flow.name)], capture_output=True,
                             text=True, timeout=300, check=True)
    assert checked.stdout.split()[1] == "0", checked.stdout
    again = ereport(ws, "--date", "2026-12-01")
    assert again.code == 0 and len(pa.state.sent(syntax="FRR")) == 1
    assert "the e-report of 2026-11" not in cli(ws, "check").text


def test_a_payment_recorded_after_its_period_was_reported_is_a_warning(rws: Path, pa: LoopbackPA) -> None:
    """A bank statement imported after the month's payments report went: nothing would ever
    report that payment; `ereport` says so."""
    assert ereport(rws, "--date", "2027-10-02").code == 0
    assert cli(rws, "pay", "martin", "30", "--date", "2027-09-28").code == 0  # received in September
    result = ereport(rws, "--date", "2027-10-05")
    assert result.code == 0, result.text
    assert "WARNING: facturier.toml: 1 payment(s) of 2027-09 were recorded after its e-report (payments, 1 sent) " \
           "went: they are not in it; declare them on your platform's portal" in result.text
    assert "(transactions" not in result.text and len(pa.state.sent(syntax="FRR")) == 2


def test_payments_of_a_reverse_charged_invoice_are_not_reported(ws: Path, pa: LoopbackPA) -> None:
    """The reform leaves reverse-charged operations out of payment data (the buyer accounts for
    that VAT): a euro payment from the EU business client is in no payments report."""
    northwind = ws / "clients" / "northwind.toml"
    northwind.write_text(northwind.read_text(encoding="utf-8").replace('currency = "GBP"', 'currency = "EUR"'),
                         encoding="utf-8")
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2027-09-01") + 'platform_id = "0042"\n',
                    encoding="utf-8")
    (ws / "clients" / "martin.toml").write_text(CONSUMER, encoding="utf-8")
    assert cli(ws, "run", "--date", "2027-09-15").code == 0
    assert cli(ws, "pay", "martin", "50", "--date", "2027-09-20").code == 0
    assert cli(ws, "pay", "northwind", "500", "--date", "2027-09-21").code == 0
    preview = ereport(ws, "--date", "2027-10-02", "--dry-run")
    assert preview.code == 0, preview.text
    assert "2027-09\tpayments\twould send\t1\t" in preview.out  # the consumer's only


def test_a_ten_day_seller_reports_transactions_every_ten_days_and_payments_monthly(
        ws: Path, pa: LoopbackPA, tmp_path: Path) -> None:
    """Réel normal mensuel: three transactions reports a month, each due ten days after it ends."""
    path = ws / "facturier.toml"
    path.write_text(path.read_text(encoding="utf-8") + pa.config(since="2027-09-01")
                    + 'platform_id = "0042"\nereporting = "ten-day"\n', encoding="utf-8")
    (ws / "clients" / "martin.toml").write_text(CONSUMER, encoding="utf-8")
    assert cli(ws, "run", "--date", "2027-09-15").code == 0
    assert cli(ws, "pay", "martin", "50", "--date", "2027-09-20").code == 0
    warned = cli(ws, "check").out
    assert "the e-report of 2027-09-11 (transactions) is not sent (due by 2027-09-30)" in warned
    assert "the e-report of 2027-09 (payments) is not sent (due by 2027-10-10)" in warned
    result = ereport(ws, "--date", "2027-10-02")
    assert result.code == 0, result.text
    rows = [line.split("\t")[:4] for line in result.out.splitlines() if line.startswith("2027-")]
    assert rows == [["2027-09-01", "transactions", "nothing to report", "0"],
                    ["2027-09-11", "transactions", "sent", "2"],
                    ["2027-09-21", "transactions", "nothing to report", "0"],
                    ["2027-09", "payments", "sent", "1"]]
    files = pa.state.sent(syntax="FRR")
    assert [f.name for f in files] == ["FRR_transactions_2027-09-11.xml", "FRR_payments_2027-09.xml"]
    assert b"20270911" in files[0].content and b"20270920" in files[0].content  # the period's days
    paths = []
    for f in files:
        paths.append(tmp_path / f.name)
        paths[-1].write_bytes(f.content)
    script = SCHEMATRON.replace("cdar-schematron/BR-FR-CDV-Schematron-CDAR.xslt", "frr-schematron/Flux10.xslt")
    out = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                         timeout=300, check=True).stdout.splitlines()
    assert [int(line.split()[1]) for line in out] == [0, 0], out
    bad = cli(ws, "ereport", "--date", "2027-10-02", "--period", "2027-09-12")
    assert bad.code == 1 and "a ten-day period is named by its first day" in bad.text
