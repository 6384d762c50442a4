"""`facturier run` end to end: windows, numbering, PDFs in the client's language, dry runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import journal, pdf_text, run_cli


def issued(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "invoice.issued"]


def test_monthly_run_issues_one_invoice_per_active_client(ws: Path) -> None:
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    entries = issued(ws)
    assert {e["client"] for e in entries} == {"acme", "northwind", "sandbox"}  # not the inactive one
    live = [e["number"] for e in entries if e["mode"] == "live"]
    assert live == ["2026-0001", "2026-0002"]  # gapless, client-id order: acme then northwind
    test = [e for e in entries if e["mode"] == "test"]
    assert test[0]["number"] == "TEST-2026-0001"
    for e in entries:
        for f in e["files"].values():
            assert (ws / f["path"]).is_file()
        assert e["period"] == "2026-11"


def test_second_run_same_month_issues_nothing(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    r = run_cli(ws, "run", "--date", "2026-11-20")
    assert r.code == 0
    assert "already invoiced for 2026-11" in r.out
    assert len(issued(ws)) == 3


def test_before_the_window_says_when_the_next_one_is(ws: Path) -> None:
    # Northwind invoices on the 1st; the others on the 15th.
    r = run_cli(ws, "run", "--date", "2026-11-10")
    assert [e["client"] for e in issued(ws)] == ["northwind"]
    r = run_cli(ws, "run", "--date", "2026-11-12")
    assert "next invoicing window opens on 2026-11-15" in r.out
    assert len(issued(ws)) == 1


def test_missed_day_is_caught_up_later_in_the_month(ws: Path) -> None:
    r = run_cli(ws, "run", "--date", "2026-11-27")
    assert r.code == 0
    acme = next(e for e in issued(ws) if e["client"] == "acme")
    assert acme["date"] == "2026-11-27"
    assert acme["due_date"] == "2026-12-27"


def test_numbers_follow_months_and_reset_each_year(ws: Path) -> None:
    for day in ("2026-11-15", "2026-12-15", "2027-01-15"):
        assert run_cli(ws, "run", "--date", day).code == 0, day
    live = [(e["date"], e["number"]) for e in issued(ws) if e["mode"] == "live"]
    assert [n for _, n in live] == ["2026-0001", "2026-0002", "2026-0003", "2026-0004", "2027-0001", "2027-0002"]


def test_backdated_run_is_refused(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-20").code == 0
    before = (ws / "data" / "journal.jsonl").read_bytes()
    r = run_cli(ws, "run", "--date", "2026-10-15")
    assert r.code == 1
    assert "numbers must follow dates" in r.err
    assert (ws / "data" / "journal.jsonl").read_bytes() == before


def test_dry_run_writes_nothing(ws: Path) -> None:
    r = run_cli(ws, "run", "--date", "2026-11-15", "--dry-run")
    assert r.code == 0
    assert "2026-0001" in r.out and "acme" in r.out and "dry run" in r.out
    assert not (ws / "data").exists()


def test_french_pdf_content(ws: Path) -> None:
    run_cli(ws, "run", "--date", "2026-11-15")
    text = pdf_text(ws / "data/invoices/acme/2026/2026-0001.pdf")
    for expected in ("Facture", "2026-0001", "15 novembre 2026", "Total TTC", "827,88 €", "689,90 €",
                     "SIREN", "N° TVA", "Pas d'escompte", "40,00 €", "pénalités",
                     "Période de prestation du 1 novembre 2026 au 30 novembre 2026"):
        assert expected in text, expected
    record = json.loads((ws / "data/invoices/acme/2026/2026-0001.json").read_text())
    assert record["total_incl_vat"] == "827.88"
    assert record["language"] == "fr"


def test_english_pdf_with_reverse_charge(ws: Path) -> None:
    run_cli(ws, "run", "--date", "2026-11-15")
    text = pdf_text(ws / "data/invoices/northwind/2026/2026-0002.pdf")
    assert "Invoice" in text and "November 15, 2026" in text
    assert "£1,770.00" in text
    assert "Reverse charge" in text
    assert "FR44732829320" in text and "GB" in text  # both VAT numbers


def test_test_mode_invoice_carries_watermark(ws: Path) -> None:
    run_cli(ws, "run", "--date", "2026-11-15")
    assert "TEST" in pdf_text(ws / "data/invoices/sandbox/2026/TEST-2026-0001.pdf")


def test_logs_are_written_per_client_and_globally(ws: Path) -> None:
    run_cli(ws, "run", "--date", "2026-11-15")
    assert "issued 2026-0001" in (ws / "data/logs/acme.log").read_text()
    assert "[acme] issued 2026-0001" in (ws / "data/logs/facturier.log").read_text()


def test_a_date_after_today_is_refused_but_can_be_previewed(ws: Path) -> None:
    env = {"FACTURIER_TODAY": "2026-11-21"}
    r = run_cli(ws, "run", "--date", "2027-11-15", env=env)  # a mistyped year
    assert r.code == 1
    assert "--date 2027-11-15 is after today (2026-11-21)" in r.err
    assert not (ws / "data").exists()
    r = run_cli(ws, "run", "--date", "2026-12-15", "--dry-run", env=env)
    assert r.code == 0 and "2026-0001" in r.out
    for args in (["batch", "--date", "2026-12-01"], ["send", "--date", "2026-12-15"]):
        assert run_cli(ws, *args, env=env).code == 1, args


def test_a_month_no_run_invoiced_is_invoiced_by_the_next_run_once(ws: Path) -> None:
    """November is invoiced, no run happens in December: the January run invoices December
    and January, each dated that day and naming its month, says so, and never again."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    dry = run_cli(ws, "run", "--dry-run", "--date", "2027-01-16")
    assert dry.code == 0, dry.text
    assert "Caught up" in dry.err and "acme for 2026-12" in dry.err
    r = run_cli(ws, "run", "--date", "2027-01-16")
    assert r.code == 0, r.text
    assert "Caught up, each dated 2027-01-16" in r.err and "acme for 2026-12" in r.err
    acme = [e for e in issued(ws) if e["client"] == "acme"]
    assert [(e["period"], e["date"]) for e in acme] == [
        ("2026-11", "2026-11-15"), ("2026-12", "2027-01-16"), ("2027-01", "2027-01-16")]
    december = json.loads((ws / acme[1]["files"]["json"]["path"]).read_text())
    assert december["service_period"] == {"start": "2026-12-01", "end": "2026-12-31"}
    assert "du 1 décembre 2026 au 31 décembre 2026" in pdf_text(ws / acme[1]["files"]["pdf"]["path"])
    assert dry.out.count("acme") >= 2  # the dry run listed both
    again = run_cli(ws, "run", "--date", "2027-01-20")
    assert again.code == 0 and "Caught up" not in again.err
    assert len([e for e in issued(ws) if e["client"] == "acme"]) == 3
    assert run_cli(ws, "verify").code == 0
