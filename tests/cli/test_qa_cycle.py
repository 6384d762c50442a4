"""QA regressions on the monthly cycle and the batch service: bad input never crashes or loses data."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import journal, pdf_text, run_cli


def _issued(ws: Path) -> Path:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def test_verify_reports_a_directory_in_place_of_an_invoice_file(ws: Path) -> None:
    _issued(ws)
    pdf = ws / "data" / "invoices" / "acme" / "2026" / "2026-0001.pdf"
    pdf.unlink()
    pdf.mkdir()
    res = run_cli(ws, "verify")
    assert res.code == 1
    assert "Traceback" not in res.text
    assert "data/invoices/acme/2026/2026-0001.pdf" in res.text


def test_an_amount_beyond_the_sepa_qr_limit_is_issued_without_a_qr_code(ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace('unit_price = "450.00"', 'unit_price = "1500000000.00"'))
    res = run_cli(ws, "run", "--date", "2026-11-15")
    assert res.code == 0, res.text
    assert "Traceback" not in res.text
    numbers = [e["number"] for e in journal(ws) if e["type"] == "invoice.issued"]
    assert numbers == ["2026-0001", "2026-0002", "TEST-2026-0001"]
    text = pdf_text(ws / "data" / "invoices" / "acme" / "2026" / "2026-0001.pdf")
    assert "Scanner pour payer" not in text
    assert "1 800 000 287,88" in text


def _inbox(ws: Path, name: str, text: str) -> Path:
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(text.encode("utf-8"))
    return inbox


def test_a_repeated_reference_is_reported_even_on_a_row_with_other_problems(ws: Path) -> None:
    inbox = _inbox(ws, "orders.csv", "reference,customer_name,customer_address,description,unit_price\n"
                                     "R1,A,x,d,1\nR1,A,x,d,-1\n")
    res = run_cli(ws, "batch", "--date", "2026-11-15")
    assert res.code == 1
    errors = (inbox / "rejected" / "orders.csv.errors.txt").read_text()
    assert "orders.csv:3:unit_price:" in errors
    assert "orders.csv:3:reference: 'R1' is repeated: already on line 2" in errors
    assert not [e for e in journal(ws) if e["type"] == "invoice.issued"]


def test_a_csv_row_with_a_character_the_pdf_cannot_print_is_rejected_before_acceptance(ws: Path) -> None:
    inbox = _inbox(ws, "orders.csv", "reference;customer_name;customer_address;description;unit_price\r\n"
                                     'R1;"Ça, ""quoté"" \U0001F600";1 rue X | 69001 Lyon;Pièce montée;180,50\r\n')
    res = run_cli(ws, "batch", "--date", "2026-11-15")
    assert res.code == 1, res.text
    assert "Traceback" not in res.text
    errors = (inbox / "rejected" / "orders.csv.errors.txt").read_text()
    assert "orders.csv:2:customer_name:" in errors and "U+1F600" in errors
    assert not [e for e in journal(ws) if e["type"] in ("batch.accepted", "invoice.issued")]
    assert not (inbox / "orders.csv").exists()
    # The corrected file goes through, accents, quotes and all.
    _inbox(ws, "orders2.csv", "reference;customer_name;customer_address;description;unit_price\r\n"
                              'R1;"Ça, ""quoté"" ☃";1 rue X | 69001 Lyon;Pièce montée;180,50\r\n')
    assert run_cli(ws, "batch", "--date", "2026-11-15").code == 0
    text = pdf_text(ws / "data" / "invoices_batch" / "boulangerie-martin" / "2026" / "BM-2026-00001.pdf")
    assert 'Ça, "quoté" ☃' in text and "180,50 €" in text


def test_check_refuses_a_client_name_the_pdf_cannot_print(ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace('name = "ACME SARL"', 'name = "ACME \U0001F600 SARL"'))
    res = run_cli(ws, "check")
    assert res.code == 1
    assert "clients/acme.toml: name:" in res.text and "U+1F600" in res.text


def test_a_journal_that_is_a_directory_is_a_clear_error_not_a_traceback(ws: Path) -> None:
    (ws / "data" / "journal.jsonl").mkdir(parents=True)
    for args in (("run", "--date", "2026-11-15"), ("verify",), ("invoices",), ("rebuild",)):
        res = run_cli(ws, *args)
        assert res.code == 1, args
        assert "Traceback" not in res.text, args
        assert "journal.jsonl" in res.text and "Is a directory" in res.text, args
    assert (ws / "data" / "journal.jsonl").is_dir()
    assert not (ws / "data" / "invoices").exists()


def test_a_huge_csv_amount_is_a_row_error_not_a_crash_after_acceptance(ws: Path) -> None:
    inbox = _inbox(ws, "big.csv", "reference,customer_name,customer_address,description,quantity,unit_price\n"
                                  "H1,A,x,d,1,99999999999999999999999999.99\n"
                                  "H2,A,x,d,2000000,999999999.99\n"
                                  "H3,A,x,d,1,999999999999.99\n")
    res = run_cli(ws, "batch", "--date", "2026-11-15")
    assert res.code == 1, res.text
    assert "Traceback" not in res.text
    errors = (inbox / "rejected" / "big.csv.errors.txt").read_text()
    assert "big.csv:2:unit_price: " in errors and "too large" in errors
    assert "big.csv:3:unit_price: " in errors
    assert "big.csv:4:" not in errors
    assert not [e for e in journal(ws) if e["type"] in ("batch.accepted", "invoice.issued")]


def test_check_refuses_a_client_line_too_large_to_invoice(ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace('unit_price = "450.00"', 'unit_price = "99999999999999999999999999.99"'))
    res = run_cli(ws, "check")
    assert res.code == 1
    assert "clients/acme.toml: lines[0].unit_price:" in res.text and "too large" in res.text
    res = run_cli(ws, "run", "--date", "2026-11-15")
    assert res.code == 1 and "Traceback" not in res.text
    assert journal(ws) == []


def test_amounts_too_small_for_an_invoice_line_are_refused_where_they_enter(ws: Path) -> None:
    """A quantity or a price with more decimals than an invoice line carries is refused by
    `check` (naming the key) and by the batch row (naming the column), and blocks nothing else."""
    acme = ws / "clients" / "acme.toml"
    text = acme.read_text()
    line = 'quantity = "1"\nunit_price = "450.00"'
    acme.write_text(text.replace(line, line.replace('"1"', '"0.000000001"')))
    res = run_cli(ws, "check")
    assert res.code == 1 and "clients/acme.toml: lines[0].quantity:" in res.text and "more than 4 decimals" in res.text
    acme.write_text(text)
    inbox = _inbox(ws, "tiny.csv", "reference,customer_name,customer_address,description,quantity,unit_price\n"
                                   "T1,A,x,d,0.000000001,10.00\n"
                                   "T2,A,x,d,1,1e-28\n"
                                   "T3,A,x,d,1,0.0000000000000000000000000001\n")
    res = run_cli(ws, "batch", "--date", "2026-11-15")
    assert res.code == 1 and "Traceback" not in res.text
    errors = (inbox / "rejected" / "tiny.csv.errors.txt").read_text()
    assert "tiny.csv:2:quantity: " in errors and "more than 4 decimals" in errors
    assert "tiny.csv:3:unit_price: " in errors and "tiny.csv:4:unit_price: " in errors
    assert not [e for e in journal(ws) if e["type"] in ("batch.accepted", "invoice.issued")]
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0  # nothing else is blocked


def test_json_output_carries_its_alerts_and_the_alert_email_is_written(ws: Path) -> None:
    """Every --json report with an alert is valid JSON with the alerts (no traceback), and an
    error alert still emails the operator (outbox transport)."""
    import json

    r = run_cli(ws, "run", "--date", "2026-11-17", "--json")
    assert r.code == 0 and "Traceback" not in r.text, r.text
    reports = [json.loads(part) for part in r.out.replace("}\n{", "}\x00{").split("\x00")]
    alerts = [a for rep in reports for a in rep["alerts"]]
    assert alerts and alerts[0]["level"] == "warning" and "after the send day" in alerts[0]["message"]
    _inbox(ws, "bad.csv", "reference,customer_name,customer_address,description,quantity,unit_price\nB1,,x,d,1,1\n")
    r = run_cli(ws, "batch", "--date", "2026-11-17", "--json")
    assert r.code == 1 and "Traceback" not in r.text, r.text
    assert any(a["level"] == "error" for rep in [json.loads(p) for p in r.out.replace("}\n{", "}\x00{").split("\x00")]
               for a in rep["alerts"])
    assert list((ws / "data" / "outbox").glob("*.eml"))  # the operator's alert email


def test_check_refuses_currencies_that_are_not_money_and_a_stripe_api_base_that_leaks_the_key(
        ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    text = acme.read_text()
    assert 'currency = "EUR"' in text
    for code in ("XAU", "XXX", "XTS"):
        acme.write_text(text.replace('currency = "EUR"', f'currency = "{code}"'))
        res = run_cli(ws, "check")
        assert res.code == 1 and "clients/acme.toml: currency:" in res.text and "no currency" in res.text, code
    acme.write_text(text)
    cfg = ws / "facturier.toml"
    base = cfg.read_text()
    for url, expected in (("http://pay.example.com", "in clear"), ("https://evil.example", "not Stripe's API")):
        cfg.write_text(base + f'\n[collections.payment_link]\nprovider = "stripe"\napi_base = "{url}"\n')
        res = run_cli(ws, "check")
        assert res.code == 1 and "payment_link.api_" in res.text and expected in res.text, res.text
    for url in ("http://127.0.0.1:8080", "https://api.stripe.com"):
        cfg.write_text(base + f'\n[collections.payment_link]\nprovider = "stripe"\napi_base = "{url}"\n')
        assert "api_base" not in run_cli(ws, "check").text


def test_a_folder_or_a_dangling_link_named_like_a_client_file_is_refused_not_ignored(ws: Path) -> None:
    """A client silently vanishing is a missing invoice: `clients/x.toml` that is a folder or a
    link to nothing is a problem of every command, even with a cached configuration."""
    assert run_cli(ws, "run", "--dry-run", "--date", "2026-11-15").code == 0  # the configuration is cached
    (ws / "clients" / "ghost.toml").mkdir()
    (ws / "batch_clients" / "lost.toml").symlink_to(ws / "nowhere.toml")
    for args in (("check",), ("run", "--dry-run", "--date", "2026-11-15")):
        r = run_cli(ws, *args)
        assert r.code == 1, (args, r.text)
        assert "clients/ghost.toml: (file): a folder, not a configuration file" in r.text
        assert "batch_clients/lost.toml: (file): a link to nothing" in r.text
