"""The studio's year from the command line, second pass: defects found running a workspace of
clients month after month (missed months, a paused client, sends, batches)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import journal, run_cli
from tests.smtp_server import use_smtp


def issued(ws: Path, client: str) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == client]


def set_active(ws: Path, client: str, active: bool) -> None:
    path = ws / "clients" / f"{client}.toml"
    text = path.read_text(encoding="utf-8")
    old, new = ("active = true", "active = false") if not active else ("active = false", "active = true")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_paused_client_is_not_billed_for_its_paused_months_when_it_comes_back(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-08-15").code == 0
    set_active(ws, "acme", False)  # paused for September and October: those runs skip it
    for day in ("2026-09-15", "2026-10-15"):
        r = run_cli(ws, "run", "--date", day)
        assert r.code == 0, r.text
    set_active(ws, "acme", True)
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    assert [e["period"] for e in issued(ws, "acme")] == ["2026-08", "2026-11"]
    assert "Caught up" not in r.text
    assert [e["period"] for e in issued(ws, "northwind")] == ["2026-08", "2026-09", "2026-10", "2026-11"]


def due_on_the_first(ws: Path) -> None:
    """acme (due on the 15th) followed, in id order, by northwind alone, due on the 1st."""
    assert 'invoice_day = 1' in (ws / "clients" / "northwind.toml").read_text(encoding="utf-8")
    (ws / "clients" / "sandbox.toml").unlink()


def test_a_run_that_invoiced_a_client_due_earlier_in_the_month_passed_over_the_paused_one(ws: Path) -> None:
    """northwind is due on the 1st, acme on the 15th: the runs of the 15th invoice northwind, and
    that run was in acme's window too, so the months acme was paused are not billed once it is back
    (the day northwind was invoiced counts, not the day its configuration names)."""
    due_on_the_first(ws)
    assert run_cli(ws, "run", "--date", "2026-08-15").code == 0
    set_active(ws, "acme", False)
    for day in ("2026-09-15", "2026-10-15"):
        assert run_cli(ws, "run", "--date", day).code == 0
    set_active(ws, "acme", True)
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    assert [e["period"] for e in issued(ws, "acme")] == ["2026-08", "2026-11"]
    assert [e["period"] for e in issued(ws, "northwind")] == ["2026-08", "2026-09", "2026-10", "2026-11"]


def test_a_run_before_the_paused_clients_day_did_not_pass_it_over(ws: Path) -> None:
    """A run on the 3rd invoiced only northwind (due on the 1st): acme, due on the 15th, was not in
    that run's window, so with no later run that month, coming back it is caught up for it."""
    due_on_the_first(ws)
    assert run_cli(ws, "run", "--date", "2026-08-15").code == 0
    set_active(ws, "acme", False)
    assert run_cli(ws, "run", "--date", "2026-09-03").code == 0
    set_active(ws, "acme", True)
    r = run_cli(ws, "run", "--date", "2026-10-15")
    assert r.code == 0, r.text
    assert [e["period"] for e in issued(ws, "acme")] == ["2026-08", "2026-09", "2026-10"]


def test_months_no_run_saw_are_still_caught_up_after_a_pause_elsewhere(ws: Path) -> None:
    """Cron missed September and October: every client, paused before or not, owes them."""
    assert run_cli(ws, "run", "--date", "2026-08-15").code == 0
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    for client in ("acme", "northwind"):
        assert [e["period"] for e in issued(ws, client)] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    numbers = [int(e["number"].split("-")[1]) for e in journal(ws)
               if e["type"] == "invoice.issued" and e["mode"] == "live"]
    assert numbers == list(range(1, len(numbers) + 1))


def test_the_service_period_of_a_first_and_last_month_is_the_part_the_contract_covers(ws: Path) -> None:
    path = ws / "clients" / "acme.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('mode = "live"', 'mode = "live"\nstart_date = 2026-11-10\n'
                                 'end_date = 2026-12-20\nprorate = true', 1), encoding="utf-8")
    for day in ("2026-11-15", "2026-12-15"):
        assert run_cli(ws, "run", "--date", day).code == 0
    first, last = issued(ws, "acme")
    shown = run_cli(ws, "show", first["number"])
    assert "Service period: 2026-11-10 to 2026-11-30" in shown.out, shown.out
    assert "Service period: 2026-12-01 to 2026-12-20" in run_cli(ws, "show", last["number"]).out
    record = (ws / first["files"]["json"]["path"]).read_text(encoding="utf-8")
    assert '"start": "2026-11-10"' in record.replace('":"', '": "')


def test_crediting_the_rest_clears_the_base_and_the_vat_not_only_the_total(ws: Path) -> None:
    """85.16 = 70.97 + 14.19; after 10.00 (8.33 + 1.67) what remains is 62.64 + 12.52, which no
    single note gives (62.64 has 12.53 of VAT): the rest used to be credited as 62.63 + 12.53,
    leaving 0.01 of revenue and -0.01 of VAT on an invoice shown as fully credited."""
    path = ws / "clients" / "acme.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("[[lines]]")] + '[[lines]]\ndescription = "Retainer"\n'
                    'quantity = "1"\nunit_price = "70.97"\nvat_rate = "20"\n', encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "credit", "2026-0001", "--amount", "10", "--date", "2026-12-01").code == 0
    r = run_cli(ws, "credit", "2026-0001", "--date", "2026-12-01")
    assert r.code == 1 and "Traceback" not in r.text
    assert "cannot be credited in one credit note" in r.err and "credit 75.14 with --amount" in r.err, r.err
    assert run_cli(ws, "credit", "2026-0001", "--amount", "75.14", "--date", "2026-12-01").code == 0
    assert run_cli(ws, "credit", "2026-0001", "--date", "2026-12-01").code == 0
    notes = [e for e in journal(ws) if e["type"] == "credit_note.issued"]
    assert sum(Decimal(e["total_excl_vat"]) for e in notes) == Decimal("70.97")
    assert sum(Decimal(e["total_vat"]) for e in notes) == Decimal("14.19")
    assert run_cli(ws, "credit", "2026-0001", "--date", "2026-12-01").code == 1  # nothing left


def test_a_catch_up_invoice_sent_by_hand_can_be_marked_sent_as_its_warning_says(ws: Path) -> None:
    r = run_cli(ws, "run", "--date", "2026-11-17")  # cron missed the 15th: issued, never emailed
    assert r.code == 0, r.text
    assert "send --retry 2026-0001` (or --confirm-sent if you sent it yourself)" in r.err
    confirmed = run_cli(ws, "send", "--confirm-sent", "2026-0001", "--date", "2026-11-17")
    assert confirmed.code == 0, confirmed.text
    assert "confirmed sent" in confirmed.out
    [sent] = [e for e in journal(ws) if e["type"] == "invoice.sent"]
    assert sent["number"] == "2026-0001" and sent["confirmed_by_operator"] is True
    later = run_cli(ws, "send", "--date", "2026-11-18")
    assert later.code == 0 and "2026-0001" not in later.text
    again = run_cli(ws, "send", "--confirm-sent", "2026-0001", "--date", "2026-11-18")
    assert again.code == 1 and "already sent" in again.err


def test_a_refused_invoice_sent_another_way_is_marked_sent_and_no_longer_retried(
        ws: Path, smtp_server: Any) -> None:
    env = use_smtp(ws, smtp_server)
    smtp_server.recorder.refuse = {"compta@acme.example"}
    r = run_cli(ws, "run", "--date", "2026-11-15", env=env)
    assert r.code == 1 and "refused compta@acme.example" in r.err
    confirmed = run_cli(ws, "send", "--confirm-sent", "2026-0001", "--date", "2026-11-16", env=env)
    assert confirmed.code == 0, confirmed.text
    before = len(smtp_server.recorder.messages)
    later = run_cli(ws, "send", "--date", "2026-11-16", env=env)
    assert later.code == 0, later.text
    assert len(smtp_server.recorder.messages) == before  # no retry, no alert
    assert run_cli(ws, "verify").code == 0


def test_rows_of_a_month_whose_send_day_passed_undelivered_are_named_not_left_in_no_zip(ws: Path) -> None:
    """October had no batch invoice on its send day (11-15): nothing was delivered. Rows dated in
    October processed on 11-16 are in boulangerie-martin-2026-10.zip, which no send day delivers
    any more: the batch says so and how to deliver it, instead of leaving them in no ZIP."""
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    inbox.mkdir(parents=True, exist_ok=True)
    for old in inbox.glob("*.csv"):
        old.unlink()
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    (inbox / "late.csv").write_text(
        "reference,date,customer_name,customer_address,description,unit_price\n"
        "OCT-1,2026-10-30,Café du Parc,12 rue du Parc | 69003 Lyon,Pain,10.00\n", encoding="utf-8")
    preview = run_cli(ws, "batch", "--date", "2026-11-16", "--dry-run")
    assert "would be issued after 2026-10's send day (2026-11-15)" in preview.err, preview.err
    r = run_cli(ws, "batch", "--date", "2026-11-16")
    assert r.code == 0, r.text
    assert ("boulangerie-martin: 1 invoice(s) dated in 2026-10 (BM-2026-00001) were issued after 2026-10's "
            "send day (2026-11-15)") in r.err, r.err
    assert "`facturier send --retry boulangerie-martin/2026-10`" in r.err
    sent = run_cli(ws, "send", "--retry", "boulangerie-martin/2026-10", "--date", "2026-11-16")
    assert sent.code == 0, sent.text
    [delivered] = [e for e in journal(ws) if e["type"] == "batch.delivered"]
    assert delivered["invoices"] == ["BM-2026-00001"]
    # rows of a month whose send day is still to come are not warned about
    (inbox / "nov.csv").write_text(
        "reference,date,customer_name,customer_address,description,unit_price\n"
        "NOV-1,2026-11-16,Café du Parc,12 rue du Parc | 69003 Lyon,Pain,10.00\n", encoding="utf-8")
    quiet = run_cli(ws, "batch", "--date", "2026-11-16")
    assert quiet.code == 0 and "send day" not in quiet.err, quiet.err


def test_a_month_already_invoiced_before_its_invoicing_day_names_next_months_window(ws: Path) -> None:
    """Invoiced on 11-15, then the invoicing day moved to the 20th: on 11-16 nothing is due
    until December's window, not "the 20th" of a month already invoiced."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("invoice_day = 15", "invoice_day = 20"),
                    encoding="utf-8")
    r = run_cli(ws, "run", "--date", "2026-11-16", "--dry-run")
    assert r.code == 0, r.text
    # sandbox (invoice_day 1) opens first, on 12-01; the old message said 11-20
    assert "already invoiced for 2026-11; the next invoicing window opens on 2026-12-01" in r.text, r.text
