"""Defects of a QA pass of the product against its contract (PRODUCT.md), each through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_demo, journal, run_cli

BATCH_INBOX = Path("data") / "inbox_batch" / "boulangerie-martin"


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


@pytest.mark.parametrize("year", ["1800", "99999", "0"])
def test_invoices_year_out_of_range_is_a_usage_error(issued: Path, year: str) -> None:
    """`invoices --year 99999` listed nothing and exited 0; every other --year is 1900-2999."""
    result = run_cli(issued, "invoices", "--year", year)
    assert result.code == 2, result.text
    assert "is not a year from 1900 to 2999" in result.err


def test_a_row_with_other_problems_is_still_held_to_the_series_date_order(issued: Path) -> None:
    """A row dated before the series' last invoice was reported only once its other problems were
    fixed: the file came back rejected a second time for a problem it already had."""
    inbox = issued / BATCH_INBOX
    inbox.mkdir(parents=True, exist_ok=True)
    for old in inbox.glob("*.csv"):
        old.unlink()
    (inbox / "a.csv").write_text("reference,date,customer_name,customer_address,description,unit_price\n"
                                 "R1,2026-11-10,A,1 rue X,Pain,2\n")
    assert run_cli(issued, "batch", "--date", "2026-11-15").code == 0
    (inbox / "b.csv").write_text("reference,date,customer_name,customer_address,description,unit_price,quantity\n"
                                 "R2,2026-11-01,A,1 rue X,Pain,2,0\n")
    before = journal(issued)
    result = run_cli(issued, "batch", "--date", "2026-11-15")
    assert result.code == 1
    errors = (inbox / "rejected" / "b.csv.errors.txt").read_text()
    assert "b.csv:2:quantity:" in errors
    assert "b.csv:2:date: 2026-11-01 is before 2026-11-10" in errors
    assert [e["type"] for e in journal(issued)[len(before):]] == ["batch.rejected"]


CAMT = Path(__file__).resolve().parent.parent / "fixtures" / "bank" / "statement.camt053.xml"  # credits 11-17, 11-18


def test_import_bank_takes_date_as_today_for_replays(issued: Path) -> None:
    """PRODUCT §1: every command takes --date; import-bank refused it (exit 2) and used the clock."""
    before = journal(issued)
    refused = run_cli(issued, "import-bank", str(CAMT), "--date", "2026-11-17")
    assert refused.code == 1 and "dated 2026-11-18 is in the future" in refused.err
    assert journal(issued) == before
    result = run_cli(issued, "import-bank", str(CAMT), "--date", "2026-11-20")
    assert result.code == 0, result.text
    assert "1 matched" in result.out
    assert run_cli(issued, "import-bank", str(CAMT), "--date", "2028-01-01").code == 1  # after today


def test_usage_import_takes_date_as_today(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    usage = tmp_path / "usage.csv"
    usage.write_text("client,metric,quantity,date,id\natelier-lumiere,api_calls,5,2026-11-20,u1\n")
    result = run_cli(ws, "usage", "import", str(usage), "--date", "2026-11-10")
    assert result.code == 1 and "usage.csv:2:date: 2026-11-20 is after today (2026-11-10)" in result.err
    assert not (ws / "data" / "journal.jsonl").exists() or not journal(ws)


def test_check_takes_date(issued: Path) -> None:
    result = run_cli(issued, "check", "--date", "2026-11-15")
    assert result.code == 0 and "Configuration OK" in result.out
    assert run_cli(issued, "check", "--date", "2026-02-30").code == 2


def test_purge_logs_counts_the_days_from_date(issued: Path) -> None:
    import os
    import time

    logs = issued / "data" / "logs"
    ten_days_ago = time.time() - 10 * 86400
    os.utime(logs / "acme.log", (ten_days_ago, ten_days_ago))
    kept = run_cli(issued, "purge-logs", "--older-than", "30")
    assert kept.code == 0 and (logs / "acme.log").exists()
    later = (time.gmtime(time.time() + 25 * 86400))
    day = time.strftime("%Y-%m-%d", later)
    result = run_cli(issued, "purge-logs", "--older-than", "30", "--date", day,
                     env={"FACTURIER_TODAY": day})
    assert result.code == 0, result.text
    assert not (logs / "acme.log").exists() and (logs / "facturier.log").exists()
    ahead = run_cli(issued, "purge-logs", "--older-than", "1", "--date", "2999-01-01")
    assert ahead.code == 1 and "is after today" in ahead.err and (logs / "facturier.log").exists()


def test_check_renders_the_mail_template_overrides(ws: Path) -> None:
    """A misspelt field in templates/mail/ passed `check` and stopped the invoice email on the send day."""
    mail = ws / "templates" / "mail"
    mail.mkdir(parents=True)
    (mail / "invoice.fr.txt").write_text("Bonjour,\n{% if total %}{{ totl }}{% endif %}\n")
    (mail / "batch_link.en.html").write_text("<p>{{ url }} {% if part > 1 %}</p>\n")
    (mail / "invoice.en.subject.txt").write_text("Invoice {{ number }}\n")  # a good override
    result = run_cli(ws, "check")
    assert result.code == 1
    assert "templates/mail/invoice.fr.txt: (file): unknown merge field 'totl'" in result.out
    assert "templates/mail/batch_link.en.html: (file): line " in result.out
    assert "invoice.en.subject.txt" not in result.out


def test_check_warns_about_template_files_nothing_reads(ws: Path) -> None:
    """`stage_7.txt` or `invoice.fr.text` was ignored without a word: the user's text never used."""
    reminders = ws / "templates" / "reminders" / "en"
    reminders.mkdir(parents=True)
    (reminders / "stage_7.txt").write_text("Subject: x\n\nHi {{ name }}\n")
    mail = ws / "templates" / "mail"
    mail.mkdir(parents=True)
    (mail / "invoice.fr.text").write_text("Bonjour\n")
    (mail / "footer.txt").write_text("--\nPalks\n")
    (mail / "invoice.en.txt").write_text("Hello {{ client_name }}\n{% include 'footer.txt' %}\n")
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert "warning: templates/reminders/en/stage_7.txt: (file): no reminder uses this file" in result.out
    assert "warning: templates/mail/invoice.fr.text: (file): no email uses this file" in result.out
    assert "footer.txt" not in result.out


def _inbox(ws: Path) -> Path:
    inbox = ws / BATCH_INBOX
    inbox.mkdir(parents=True, exist_ok=True)
    for old in inbox.glob("*.csv"):
        old.unlink()
    return inbox


def test_an_inactive_batch_clients_waiting_files_are_named_not_denied(ws: Path) -> None:
    """`batch` said "No CSV file waiting" while an inactive client's inbox held one."""
    inbox = _inbox(ws)
    (inbox / "z.csv").write_text("reference,customer_name,customer_address,description,unit_price\nZ1,A,B,C,1\n")
    cfg = ws / "batch_clients" / "boulangerie-martin.toml"
    cfg.write_text(cfg.read_text().replace("active = true", "active = false"))
    for args in ((), ("--client", "boulangerie-martin"), ("--dry-run",)):
        result = run_cli(ws, "batch", "--date", "2026-11-15", *args)
        assert result.code == 0, result.text
        assert "No CSV file waiting" not in result.text
        assert ("data/inbox_batch/boulangerie-martin/ holds 1 CSV file(s) but "
                "batch_clients/boulangerie-martin.toml has active = false") in result.err
    assert (inbox / "z.csv").exists()


def test_a_file_of_the_inbox_that_is_not_csv_is_named(ws: Path) -> None:
    """An `orders.xlsx` dropped in the inbox was never read and never mentioned."""
    inbox = _inbox(ws)
    (inbox / "orders.xlsx").write_bytes(b"PK\x03\x04")
    (inbox / ".DS_Store").write_bytes(b"\x00")
    result = run_cli(ws, "batch", "--date", "2026-11-15")
    assert result.code == 0, result.text
    assert "data/inbox_batch/boulangerie-martin/orders.xlsx is not a .csv file: left untouched" in result.err
    assert ".DS_Store" not in result.text and "No CSV file waiting" not in result.text
    assert (inbox / "orders.xlsx").exists()


def test_a_charge_no_live_invoice_will_carry_says_so(ws: Path) -> None:
    """`charge` of an inactive client said "It goes on its next monthly invoice": none ever comes."""
    inactive = run_cli(ws, "charge", "atelier-lumiere", "10", "--description", "Atelier", "--date", "2026-11-10")
    assert inactive.code == 0, inactive.text
    assert "next monthly invoice" not in inactive.out
    assert "atelier-lumiere is inactive (active = false in clients/atelier-lumiere.toml)" in inactive.err
    test = run_cli(ws, "charge", "sandbox", "10", "--description", "Atelier", "--date", "2026-11-10")
    assert test.code == 0 and "sandbox is in test mode" in test.err
    live = run_cli(ws, "charge", "acme", "10", "--description", "Atelier", "--date", "2026-11-10")
    assert live.code == 0 and "It goes on acme's next monthly invoice" in live.out and not live.err
    assert [e["client"] for e in journal(ws) if e["type"] == "charge.added"] == ["atelier-lumiere", "sandbox", "acme"]


def test_check_warns_when_two_sellers_can_issue_the_same_number(ws: Path) -> None:
    """The issuer and a batch client with one template both issued 2026-0001; `credit 2026-0001`
    then reached only the issuer's invoice, and nothing had said so."""
    cfg = ws / "batch_clients" / "boulangerie-martin.toml"
    cfg.write_text(cfg.read_text().replace('numbering = "BM-{year}-{seq:05d}"', 'numbering = "{year}-{seq:04d}"'))
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert ("warning: facturier.toml: numbering.invoice ('{year}-{seq:04d}') and batch_clients/boulangerie-martin"
            ".toml: numbering ('{year}-{seq:04d}') can both give 2026-0001") in result.out
    assert "AV-2026-0001" in result.out  # the two credit-note series too
    demo = run_cli(copy_demo(ws.parent / "demo"), "check")
    assert demo.code == 0 and "can both give" not in demo.out


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "2026-02-30", "last-month"])
def test_ereport_refuses_a_malformed_period_even_with_einvoicing_off(ws: Path, period: str) -> None:
    """`ereport --period 2026-13` said "nothing to e-report" and exited 0 when e-invoicing was off."""
    result = run_cli(ws, "ereport", "--period", period, "--date", "2026-11-15")
    assert result.code == 1
    assert f"Error: --period '{period}': expected YYYY-MM, e.g. 2027-09" in result.err


def test_show_says_a_promise_whose_day_has_come_no_longer_holds(issued: Path) -> None:
    """`show` kept saying "no reminder before that day" weeks after the promised day."""
    assert run_cli(issued, "promise", "2026-0001", "--until", "2027-01-10", "--date", "2026-12-20").code == 0
    before = run_cli(issued, "show", "2026-0001", env={"FACTURIER_TODAY": "2027-01-09"})
    assert "Payment promised by 2027-01-10 (no reminder before that day)" in before.out
    after = run_cli(issued, "show", "2026-0001", env={"FACTURIER_TODAY": "2027-02-01"})
    assert "Payment promised by 2027-01-10: that day has come, reminders resumed" in after.out
    assert "no reminder before that day" not in after.out


def test_check_warns_about_an_smtp_password_file_a_send_would_refuse(ws: Path, tmp_path: Path) -> None:
    """`check` said OK while password_file was readable by others; the send day then failed."""
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    config = ws / "facturier.toml"
    config.write_text(config.read_text().replace('transport = "outbox"', 'transport = "smtp"')
                      + f'\n[mail.smtp]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "u"\n'
                        f'password_file = "{secret}"\n')
    loose = run_cli(ws, "check")
    assert loose.code == 0, loose.text
    assert (f"warning: facturier.toml: mail.smtp.password_file: {secret} is readable by others (mode 0644); "
            f"run: chmod 600 {secret}") in loose.out
    secret.chmod(0o600)
    assert "password_file" not in run_cli(ws, "check").out
    secret.unlink()
    assert f"warning: facturier.toml: mail.smtp.password_file: {secret} cannot be read" in run_cli(ws, "check").out


@pytest.mark.parametrize(("args", "message"), [
    (("usage", "record", "atelier-lumiere", "api_calls", "1", "--id", ""), "Error: id: missing value"),
    (("report", "--year", "2026", "--language", ""), "Error: --language: '' is not supported"),
    (("pay", "acme", "10", "--date", "2026-11-20", "--currency", ""), "Error: --currency: empty"),
    (("import-bank", str(CAMT), "--format", ""), "--format must be one of"),
    (("statuses", "--since", ""), "Error: --since: '' is not a date"),
])
def test_an_empty_option_value_is_refused_not_read_as_the_default(issued: Path, args: tuple[str, ...],
                                                                   message: str) -> None:
    """`--id ""` (an unset shell variable) got a fresh random id, so the same record sent twice was
    counted twice; `--language ""`, `--currency ""`, `--format ""` and `--since ""` meant the default."""
    before = journal(issued)
    result = run_cli(issued, *args)
    assert result.code == 1, result.text
    assert message in result.err
    assert journal(issued) == before


@pytest.mark.parametrize("month", ["0000-01", "3000-01", "2026-13"])
def test_usage_list_month_is_held_to_the_supported_dates(ws: Path, month: str) -> None:
    """`usage list --month 0000-01` answered "No usage recorded in 0000-01" (exit 0)."""
    result = run_cli(ws, "usage", "list", "--month", month)
    assert result.code == 1 and f"--month: '{month}' is not a month in the form YYYY-MM, from 1900-01" in result.err


@pytest.mark.parametrize("args", [
    ("dispute", "2026-0001"), ("promise", "2026-0001", "--until", "2028-02-01"),
    ("charge", "acme", "10", "--description", "x"), ("statuses",),
])
def test_a_future_date_never_suggests_a_dry_run_the_command_lacks(issued: Path, args: tuple[str, ...]) -> None:
    """"Preview that day with --dry-run" was said by dispute, promise, charge and statuses, which have none."""
    result = run_cli(issued, *args, "--date", "2028-01-01")
    assert result.code == 1 and "--date 2028-01-01 is after today (2027-12-31)" in result.err
    assert "--dry-run" not in result.err
    assert "Preview that day with --dry-run" in run_cli(issued, "run", "--date", "2028-01-01").err


@pytest.mark.parametrize("args", [
    ("verify",), ("rebuild",), ("usage", "list"), ("show", "2026-0001"),
    ("export", "revenues", "--year", "2026"), ("export", "receipts", "--year", "2026"),
    ("export", "payments", "--year", "2026"), ("export", "fec", "--year", "2026"),
])
def test_every_workspace_command_takes_date(issued: Path, args: tuple[str, ...]) -> None:
    """PRODUCT §1: every command takes --date; these refused it as an unknown option (exit 2)."""
    config = issued / "facturier.toml"  # the FEC is in euros: northwind's GBP needs a rate
    config.write_text(config.read_text() + '\n[accounting]\nexchange_rates = { GBP = "1.15" }\n')
    assert run_cli(issued, *args, "--date", "2026-11-20").code == 0
    bad = run_cli(issued, *args, "--date", "2026-11-31")
    assert bad.code == 2 and "'2026-11-31' is not a date in the form YYYY-MM-DD" in bad.err


@pytest.mark.parametrize("args", [
    ("export", "revenues", "--year", "2026"), ("export", "fec", "--year", "2026"), ("report", "--year", "2026"),
])
@pytest.mark.parametrize("target", ["data/journal.jsonl", "data/invoices/acme/2026/2026-0001.pdf",
                                    "facturier.toml", "clients/acme.toml"])
def test_out_never_replaces_a_file_of_the_workspace(issued: Path, args: tuple[str, ...], target: str) -> None:
    """`export revenues --out data/journal.jsonl` replaced the journal, the one source of truth,
    with a CSV (exit 0); an issued PDF or the configuration went the same way."""
    config = issued / "facturier.toml"
    config.write_text(config.read_text() + '\n[accounting]\nexchange_rates = { GBP = "1.15" }\n')
    before = (issued / target).read_bytes()
    result = run_cli(issued, *args, "--out", str(issued / target))
    assert result.code == 1 and "an export never replaces a file there" in result.err
    assert (issued / target).read_bytes() == before
    assert run_cli(issued, "verify").code == 0
    assert run_cli(issued, *args, "--out", str(issued / "exports" / "x.out")).code == 0


def test_a_folder_named_facturier_toml_is_named_as_such(ws: Path) -> None:
    """A folder in place of facturier.toml was told as "not a Facturier workspace (no facturier.toml)"."""
    config = ws / "facturier.toml"
    config.unlink()
    config.mkdir()
    result = run_cli(ws, "check")
    assert result.code == 1
    assert "facturier.toml is a folder or a link to nothing, not the configuration file" in result.out
    assert "no facturier.toml" not in result.out


def test_import_bank_refuses_a_named_pipe_instead_of_waiting_for_ever(issued: Path, tmp_path: Path) -> None:
    """`import-bank` of a FIFO no one writes to blocked for ever (cron would pile up behind its lock)."""
    import os

    fifo = tmp_path / "statement.xml"
    os.mkfifo(fifo)
    result = run_cli(issued, "import-bank", str(fifo), timeout=20)
    assert result.code == 1 and "not a regular file (a pipe or a device)" in result.err


def test_a_write_that_fails_names_the_file_not_its_temp_copy(issued: Path) -> None:
    """A folder in place of a view made `rebuild` say "Error: data/balance/.acme.json.<hex>.tmp:
    Is a directory": the temp file of the atomic write, not the file in the way."""
    view = issued / "data" / "balance" / "acme.json"
    view.unlink()
    view.mkdir()
    result = run_cli(issued, "rebuild")
    assert result.code == 1
    assert f"Error: {view}: Is a directory" in result.err and ".tmp" not in result.err


def test_invoices_issued_before_a_change_of_currency_can_still_be_paid(issued: Path) -> None:
    """Once northwind's currency went from GBP to EUR, its open GBP invoice could never be paid:
    `--currency GBP` was "invoiced in EUR, not GBP", `--invoice` was "in GBP, not EUR"."""
    northwind = issued / "clients" / "northwind.toml"
    northwind.write_text(northwind.read_text().replace('currency = "GBP"', 'currency = "EUR"'))
    by_currency = run_cli(issued, "pay", "northwind", "100", "--date", "2026-12-01", "--currency", "GBP")
    assert by_currency.code == 0, by_currency.text
    by_invoice = run_cli(issued, "pay", "northwind", "70", "--date", "2026-12-01", "--invoice", "2026-0002")
    assert by_invoice.code == 0, by_invoice.text
    paid = [(e["currency"], e["amount"], e["allocation"]) for e in journal(issued) if e["type"] == "payment.recorded"]
    assert paid == [("GBP", "100.00", [{"number": "2026-0002", "amount": "100.00"}]),
                    ("GBP", "70.00", [{"number": "2026-0002", "amount": "70.00"}])]
    other = run_cli(issued, "pay", "northwind", "10", "--date", "2026-12-01", "--currency", "USD")
    assert other.code == 1 and "client 'northwind' is invoiced in EUR, not USD" in other.err


def test_a_bank_credit_in_an_invoices_old_currency_is_matched(issued: Path, tmp_path: Path) -> None:
    """After northwind moved from GBP to EUR, a GBP credit naming its GBP invoice stayed unmatched."""
    northwind = issued / "clients" / "northwind.toml"
    northwind.write_text(northwind.read_text().replace('currency = "GBP"', 'currency = "EUR"'))
    statement = tmp_path / "gbp.xml"
    statement.write_text(CAMT.read_text().replace("827.88", "50.00").replace("2026-0001", "2026-0002")
                         .replace('Ccy="EUR"', 'Ccy="GBP"'))
    result = run_cli(issued, "import-bank", str(statement), "--date", "2026-11-20")
    assert result.code == 0, result.text
    assert "Facture 2026-0002 merci\tmatched\tnorthwind\t2026-0002" in result.out
    [paid] = [e for e in journal(issued) if e["type"] == "payment.recorded"]
    assert (paid["client"], paid["currency"], paid["amount"]) == ("northwind", "GBP", "50.00")


def test_check_warns_when_an_auto_send_client_is_invoiced_after_the_send_day(ws: Path) -> None:
    """invoice_day = 20 with send_day = 15 and auto_send = true passed check silently; then every
    month's invoice came after the send day and was never emailed (a warning on each run)."""
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace("active = true", "active = true\ninvoice_day = 20"))
    result = run_cli(ws, "check")
    assert result.code == 0, result.text
    assert ("warning: clients/acme.toml: invoice_day: 20 is after [schedule] send_day (15), the only day invoice "
            "emails go out: this client's invoices are never emailed automatically") in result.out
    assert "northwind" not in result.out  # auto_send = false: nothing to warn about


def test_a_usage_csv_saved_with_semicolons_is_one_clear_problem(ws: Path, tmp_path: Path) -> None:
    """A ';' file (a French spreadsheet's CSV) gave seven problems about columns named
    'client;metric;quantity;date;id' and missing ones, none saying what was wrong."""
    usage = tmp_path / "usage.csv"
    usage.write_bytes(b"\xef\xbb\xbfclient;metric;quantity;date;id\r\nacme;api_calls;2,5;2026-11-02;u1\r\n")
    result = run_cli(ws, "usage", "import", str(usage), "--date", "2026-11-15")
    assert result.code == 1
    assert "usage.csv:1:-: the columns are separated by ';': a usage CSV separates them with ','" in result.err
    assert "required column is missing" not in result.err


def test_a_removed_client_file_with_open_invoices_is_told(issued: Path) -> None:
    """Deleting clients/acme.toml while acme owed 827.88: check said OK, pay said only "unknown
    client", and remind drafted nothing for the overdue invoice, all without a word why."""
    (issued / "clients" / "acme.toml").unlink()
    checked = run_cli(issued, "check", "--date", "2027-01-20")
    assert checked.code == 0, checked.text
    assert ("warning: clients/acme.toml: (file): missing, but the journal shows acme still owes 827.88 EUR: "
            "without the file, pay refuses its payments") in checked.out
    paid = run_cli(issued, "pay", "acme", "10", "--date", "2026-12-01")
    assert paid.code == 1 and "no clients/acme.toml (a client that left keeps its file, with active = false" in paid.err
