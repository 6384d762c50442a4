"""Usage billing through the real CLI: import, duplicates, late usage, charges, checks, the
invoice PDF and JSON record of a metered month."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO, journal, pdf_text, run_cli

METER = """name = "Meter SAS"
email = "billing@meter.example"
address = ["2 rue de la Paix", "75002 Paris"]
country = "FR"
siren = "443061841"
vat_id = "FR64443061841"
language = "en"
currency = "EUR"
{extra}
[[lines]]
description = "Platform fee"
unit_price = "100.00"

[[lines]]
description = "API calls"
metric = "api_calls"
pricing = "graduated"
included = "100"
[[lines.tiers]]
up_to = "1000"
unit_price = "0.0125"
[[lines.tiers]]
up_to = "10000"
unit_price = "0.008"
flat_fee = "5.00"
[[lines.tiers]]
unit_price = "0.001234"

[[lines]]
description = "Storage"
metric = "storage_gb"
aggregation = "max"
pricing = "volume"
minimum = "20.00"
[[lines.tiers]]
up_to = "100"
unit_price = "0.10"
[[lines.tiers]]
unit_price = "0.05"

[[lines]]
description = "Seats"
metric = "seats"
aggregation = "unique"
pricing = "package"
package_size = "5"
unit_price = "25.00"
{lines}"""

USAGE = """client,metric,quantity,date,id,key
meter,api_calls,12345.5,2026-10-03,a1,
meter,api_calls,100,2026-10-04,a2,
meter,storage_gb,80,2026-10-05,s1,
meter,storage_gb,120,2026-10-20,s2,
meter,seats,1,2026-10-01,u1,alice
meter,seats,1,2026-10-02,u2,bob
meter,seats,1,2026-10-02,u3,alice
meter,seats,1,2026-10-02,u4,carol
meter,seats,1,2026-10-02,u5,dan
meter,seats,1,2026-10-02,u6,eve
meter,seats,1,2026-10-02,u7,fay
"""


def metered_ws(tmp_path: Path, extra: str = "", lines: str = "") -> Path:
    ws = tmp_path / "ws"
    ws.mkdir(parents=True)
    shutil.copy(DEMO / "facturier.toml", ws / "facturier.toml")
    (ws / "clients").mkdir()
    (ws / "clients" / "meter.toml").write_text(METER.format(extra=extra, lines=lines), encoding="utf-8")
    return ws


def usage_entries(ws: Path) -> list[list[str]]:
    return [r for e in journal(ws) if e["type"] == "usage.recorded" for r in e["records"]]


def test_import_twice_records_nothing_new_and_counts_the_duplicates(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    (tmp_path / "u.csv").write_text(USAGE, encoding="utf-8")
    first = run_cli(ws, "usage", "import", str(tmp_path / "u.csv"))
    assert first.code == 0, first.text
    assert "11 record(s) recorded, 0 duplicate(s) ignored" in first.out
    second = run_cli(ws, "usage", "import", str(tmp_path / "u.csv"))
    assert second.code == 0, second.text
    assert "0 record(s) recorded, 11 duplicate(s) ignored" in second.out
    assert len(usage_entries(ws)) == 11
    # The same ids from another file, in JSONL, are duplicates too: an id counts once, forever.
    (tmp_path / "u.jsonl").write_text(
        '{"client":"meter","metric":"api_calls","quantity":"5","date":"2026-10-09","id":"a1"}\n'
        '{"client":"meter","metric":"api_calls","quantity":7,"date":"2026-10-09","id":"a3"}\n',
        encoding="utf-8")
    third = run_cli(ws, "usage", "import", str(tmp_path / "u.jsonl"))
    assert "1 record(s) recorded, 1 duplicate(s) ignored" in third.out, third.text
    listing = run_cli(ws, "usage", "list", "--client", "meter", "--month", "2026-10")
    assert "api_calls\t3\t12452.5\t12345.5" in listing.out, listing.out
    assert "seats\t7\t7\t1\t1\t6" in listing.out
    view = json.loads((ws / "data" / "usage" / "meter" / "2026-10.json").read_text())
    assert view["metrics"]["api_calls"]["sum"] == "12452.5" and view["metrics"]["seats"]["unique"] == 6
    before = (ws / "data" / "usage" / "meter" / "2026-10.json").read_bytes()
    assert run_cli(ws, "rebuild").code == 0
    assert (ws / "data" / "usage" / "meter" / "2026-10.json").read_bytes() == before


def test_an_id_typed_in_another_unicode_form_is_the_same_record(tmp_path: Path) -> None:
    """"é" as one character or as "e" and an accent is the same id: sent twice, once from a system
    that decomposes accents, the record counts once, by `usage record` and by `usage import`."""
    ws = metered_ws(tmp_path)
    composed, decomposed = "caf\u00e9-1", "cafe\u0301-1"
    first = run_cli(ws, "usage", "record", "meter", "api_calls", "5", "--date", "2026-10-02", "--id", decomposed)
    assert first.code == 0, first.text
    again = run_cli(ws, "usage", "record", "meter", "api_calls", "5", "--date", "2026-10-02", "--id", composed)
    assert again.code == 0 and "already recorded" in again.out, again.text
    (tmp_path / "u.jsonl").write_text(
        f'{{"client":"meter","metric":"api_calls","quantity":"5","date":"2026-10-02","id":"{decomposed}"}}\n'
        f'{{"client":"meter","metric":"api_calls","quantity":"5","date":"2026-10-02","id":"{composed}"}}\n',
        encoding="utf-8")
    third = run_cli(ws, "usage", "import", str(tmp_path / "u.jsonl"))
    assert "0 record(s) recorded, 2 duplicate(s) ignored" in third.out, third.text
    assert len(usage_entries(ws)) == 1


def test_a_bad_file_is_rejected_whole_with_every_problem(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("client,metric,quantity,date,id,key\n"
                   "meter,api_calls,10,2026-10-01,ok1,\n"
                   "meter,api_calls,-3,2026-10-01,b1,\n"
                   "nobody,api_calls,1,2026-10-01,b2,\n"
                   "meter,api_cals,1,2026-10-01,b3,\n"
                   "meter,api_calls,1.00001,2026-13-01,b4,\n"
                   "meter,seats,1,2026-10-01,b5,\n"
                   "meter,api_calls,1,2026-10-01,,\n"
                   "meter,api_calls,1,2099-10-01,b6,\n", encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(bad))
    assert r.code == 1
    lines = r.err.splitlines()
    assert "bad.csv:3:quantity: '-3' is negative; usage quantities are 0 or more" in lines
    assert any(l.startswith("bad.csv:4:client: unknown client 'nobody'") for l in lines)
    assert any(l.startswith("bad.csv:5:metric: 'api_cals' is not a metric billed to meter") for l in lines)
    assert "bad.csv:6:quantity: '1.00001' has more than 4 decimals" in lines
    assert any(l.startswith("bad.csv:6:date:") for l in lines)
    assert any(l.startswith("bad.csv:7:key:") for l in lines)
    assert "bad.csv:8:id: missing value" in lines
    assert any(l.startswith("bad.csv:9:date: 2099-10-01 is after today") for l in lines)
    assert "rejected whole, nothing recorded: 8 problem(s)" in r.err
    assert "Traceback" not in r.text
    assert usage_entries(ws) == []  # not even the good row


@pytest.mark.parametrize("content, expected", [
    ("", "bad.csv:1:-: empty file"),
    ("client,metric,quantity,date\n", "bad.csv:1:id: required column is missing"),
    ("client,metric,quantity,date,id,colour\n", "bad.csv:1:colour: unknown column 'colour'"),
    ("client,metric,quantity,date,id\nmeter,api_calls,1\n", "bad.csv:2:-: the row has 3 fields but the header has 5"),
])
def test_csv_shape_problems(tmp_path: Path, content: str, expected: str) -> None:
    ws = metered_ws(tmp_path)
    (tmp_path / "bad.csv").write_text(content, encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(tmp_path / "bad.csv"))
    assert r.code == 1 and expected in r.err, r.text


def test_jsonl_floats_and_unknown_fields_are_refused(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    (tmp_path / "bad.jsonl").write_text(
        '{"client":"meter","metric":"api_calls","quantity":1.5,"date":"2026-10-01","id":"x"}\n'
        'not json\n'
        '{"client":"meter","metric":"api_calls","quantity":"1","date":"2026-10-01","id":"y","extra":1}\n',
        encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(tmp_path / "bad.jsonl"))
    assert r.code == 1
    assert "bad.jsonl:1:quantity: 1.5 is not a decimal written as text" in r.err
    assert "bad.jsonl:2:-: not valid JSON" in r.err
    assert "bad.jsonl:3:extra: unknown field 'extra'" in r.err


@pytest.mark.parametrize("field", ["client", "metric", "quantity", "date", "id", "key"])
@pytest.mark.parametrize("value", ['["meter"]', '{"a": 1}'])
def test_a_jsonl_field_that_is_a_list_or_an_object_is_a_clear_error(tmp_path: Path, field: str,
                                                                      value: str) -> None:
    ws = metered_ws(tmp_path)
    record = {"client": '"meter"', "metric": '"api_calls"', "quantity": '"1"', "date": '"2026-10-01"',
              "id": '"x"', "key": '""'}
    record[field] = value
    (tmp_path / "bad.jsonl").write_text("{" + ", ".join(f'"{k}": {v}' for k, v in record.items()) + "}\n",
                                        encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(tmp_path / "bad.jsonl"))
    assert r.code == 1 and "Traceback" not in r.text, r.text
    assert f"bad.jsonl:1:{field}: expected a single value, got a JSON" in r.err
    assert not usage_entries(ws)


def test_hostile_names_are_refused_cleanly(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    evil = tmp_path / "evil\nname.csv"
    evil.write_text(USAGE, encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(evil))
    assert r.code == 1 and "U+000A (LINE FEED)" in r.err and "Traceback" not in r.text
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "missing.csv")
    r = run_cli(ws, "usage", "import", str(link))
    assert r.code == 1 and "Traceback" not in r.text
    r = run_cli(ws, "usage", "import", str(tmp_path / "u.txt"))
    assert r.code == 1 and "a usage file is .csv or .jsonl" in r.err
    for client in ("../../etc", "meter\n", "METER"):
        r = run_cli(ws, "usage", "record", client, "api_calls", "1", "--date", "2026-10-01")
        assert r.code == 1 and ("unknown client" in r.err or "U+000A" in r.err) and "Traceback" not in r.text, r.text
    r = run_cli(ws, "usage", "record", "meter", "api_calls", "1", "--date", "2026-10-01", "--id", "x\u202ey")
    assert r.code == 1 and "U+202E" in r.err
    r = run_cli(ws, "charge", "../x", "10", "--description", "x")
    assert r.code == 1 and "unknown client" in r.err
    assert not (ws / "data" / "usage").exists() or not any((ws / "data" / "usage").iterdir())
    r = run_cli(ws, "usage", "list", "--month", "2026-13")
    assert r.code == 1 and "not a month" in r.err


def test_a_metered_month_on_the_pdf_and_the_json_record(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path,
                    lines='\n[[discounts]]\npercent = "10"\nline = "api_calls"\nmonths = 2\nfrom = 2026-11-01\n')
    (tmp_path / "u.csv").write_text(USAGE, encoding="utf-8")
    assert run_cli(ws, "usage", "import", str(tmp_path / "u.csv")).code == 0
    r = run_cli(ws, "charge", "meter", "49.90", "--description", "Onboarding workshop")
    assert r.code == 0, r.text
    dry = run_cli(ws, "run", "--dry-run", "--date", "2026-11-15")
    assert "meter\tMeter SAS\t2026-11-15\t2026-12-15\tEUR\t362.45" in dry.out, dry.out
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    record = json.loads(next((ws / "data" / "invoices").rglob("*.json")).read_text())
    got = [(l["description"], l["quantity"], l["unit_price"], l["amount_excl_vat"]) for l in record["lines"]]
    period = "(2026-10-01 to 2026-10-31)"
    assert got == [
        ("Platform fee", "1", "100.00", "100.00"),
        (f"API calls {period}, tier 1: up to 1000, 100 units included", "900", "0.0125", "11.25"),
        (f"API calls {period}, tier 2: over 1000 up to 10000", "9000", "0.008", "72.00"),
        (f"API calls {period}, tier 2 flat fee", "1", "5.00", "5.00"),
        (f"API calls {period}, tier 3: over 10000", "2445.5", "0.001234", "3.02"),
        (f"Storage {period}, 120 units at tier 2", "120", "0.05", "6.00"),
        (f"Storage {period}, minimum 20.00: true-up", "1", "14.00", "14.00"),
        (f"Seats {period}, 6 units in packages of 5", "2", "25.00", "50.00"),
        ("Onboarding workshop", "1", "49.90", "49.90"),
        ("Discount 10 % on api_calls", "-1", "9.13", "-9.13"),
    ]
    assert record["total_excl_vat"] == "302.04" and record["total_incl_vat"] == "362.45"
    text = " ".join(pdf_text(next((ws / "data" / "invoices").rglob("*.pdf"))).split())  # descriptions wrap
    for fragment in ("tier 3: over 10000", "2,445.5", "0.001234", "€3.02", "€72.00", "true-up", "€14.00",
                     "Onboarding workshop", "€49.90", "-€9.13", "€362.45", "2026-10-01 to 2026-10-31"):
        assert fragment in text, (fragment, text)
    # Tier lines with 6-decimal prices and a discount line (-1 x a positive price) pass the
    # EN 16931 schematrons.
    einvoice = run_cli(ws, "verify", "--einvoice", timeout=300)
    assert einvoice.code == 0 and "E-invoices OK" in einvoice.out, einvoice.text
    # The charge and the usage were billed once: the next month bills neither again.
    nxt = run_cli(ws, "run", "--dry-run", "--date", "2026-12-15")
    assert "\t145.48\t" not in nxt.out  # (no late usage: only the fee and the storage minimum)
    assert "meter\tMeter SAS\t2026-12-15\t2027-01-14\tEUR\t144.00" in nxt.out, nxt.out


def test_late_usage_goes_on_the_next_invoice_as_a_correction(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    (tmp_path / "u.csv").write_text(USAGE, encoding="utf-8")
    assert run_cli(ws, "usage", "import", str(tmp_path / "u.csv")).code == 0
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    first = json.loads(next((ws / "data" / "invoices").rglob("*.json")).read_text())
    pdf_before = next((ws / "data" / "invoices").rglob("*.pdf")).read_bytes()
    r = run_cli(ws, "usage", "record", "meter", "api_calls", "1000", "--date", "2026-10-30", "--id", "late1")
    assert r.code == 0, r.text
    assert "are for 2026-10, already invoiced (2026-0001)" in r.out
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    records = sorted((ws / "data" / "invoices").rglob("*.json"))
    assert json.loads(records[0].read_text()) == first  # the October invoice never changes
    assert min((ws / "data" / "invoices").rglob("*.pdf")).read_bytes() == pdf_before
    second = json.loads(records[1].read_text())
    late = [l for l in second["lines"] if l["description"].startswith("Late usage for 2026-10")]
    # 1,000 more calls in tier 3: 3445.5 x 0.001234 = 4.25 instead of 3.02.
    assert [(l["quantity"], l["unit_price"]) for l in late] == [("1", "1.23")]
    assert "12445.5 -> 13445.5" in late[0]["description"]
    third = run_cli(ws, "run", "--dry-run", "--date", "2027-01-15")
    assert "144.00" in third.out  # corrected once, never again


def test_nothing_to_bill_is_not_issued_and_run_says_why(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(DEMO / "facturier.toml", ws / "facturier.toml")
    (ws / "clients").mkdir()
    only_usage = METER.format(extra="", lines="").replace(
        '[[lines]]\ndescription = "Platform fee"\nunit_price = "100.00"\n', "").replace('minimum = "20.00"\n', "")
    (ws / "clients" / "meter.toml").write_text(only_usage, encoding="utf-8")
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    assert ("meter: not invoiced for 2026-11: no recurring line in force in 2026-11, "
            "no usage to bill for 2026-10") in r.out
    assert [e for e in journal(ws) if e["type"] == "invoice.issued"] == []


def test_start_and_end_dates_prorate_and_stop(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path, extra="start_date = 2026-11-10\nend_date = 2027-01-20\nprorate = true\n")
    r = run_cli(ws, "run", "--dry-run", "--date", "2026-10-15")
    assert "meter" not in r.out.split("Nothing to send")[0], r.out  # before its first month
    r = run_cli(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    nov = json.loads(next((ws / "data" / "invoices").rglob("*.json")).read_text())
    # 21 of 30 days of 100.00: 70.00; the storage minimum bills nothing before the start.
    assert [(l["description"], l["amount_excl_vat"]) for l in nov["lines"]] == [
        ("Platform fee (prorated 21 of 30 days, 2026-11-10 to 2026-11-30)", "70.00")]
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    assert run_cli(ws, "run", "--date", "2027-01-15").code == 0
    jan = json.loads(max((ws / "data" / "invoices").rglob("*.json")).read_text())
    assert jan["lines"][0]["amount_excl_vat"] == "64.52"  # 20 of 31 days
    r = run_cli(ws, "run", "--date", "2027-02-15")
    assert r.code == 0
    assert len([e for e in journal(ws) if e["type"] == "invoice.issued"]) == 3  # nothing after January


def test_a_price_change_takes_effect_on_its_date(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path, lines='\n[[lines]]\ndescription = "Support"\nunit_price = "10.00"\nuntil = 2026-11-30\n'
                                     '\n[[lines]]\ndescription = "Support"\nunit_price = "12.00"\nfrom = 2026-12-01\n')
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    nov, dec = (json.loads(p.read_text()) for p in sorted((ws / "data" / "invoices").rglob("*.json")))
    assert [l["unit_price"] for l in nov["lines"] if l["description"] == "Support"] == ["10.00"]
    assert [l["unit_price"] for l in dec["lines"] if l["description"] == "Support"] == ["12.00"]


def test_check_lists_every_pricing_problem_at_once(tmp_path: Path) -> None:
    bad = """
[[lines]]
description = "Bad tiers"
metric = "calls"
pricing = "graduated"
[[lines.tiers]]
up_to = "1000"
unit_price = "-0.01"
[[lines.tiers]]
up_to = "500"
unit_price = "0.0000001"
[[lines.tiers]]
up_to = "2000"
unit_price = "0.01"

[[lines]]
description = "No price"
metric = "Bad Metric"

[[lines]]
description = "Package"
metric = "pkgs"
pricing = "package"
unit_price = "1"

[[lines]]
description = "Recurring"
tiers = [{ unit_price = "1" }]

[[discounts]]
percent = "150"
line = "nothing"
"""
    ws = metered_ws(tmp_path, lines=bad)
    r = run_cli(ws, "check")
    assert r.code == 1
    out = r.out
    f = "clients/meter.toml"
    for expected in (
        f"{f}: lines[4].tiers[0].unit_price: must not be negative, got -0.01",
        f"{f}: lines[4].tiers[1].unit_price: 1E-7 has more than 6 decimals",
        f"{f}: lines[5].metric: 'Bad Metric' is not a metric name",
    ):
        assert expected in out, (expected, out)
    # The model errors stop the file before the cross-key rules: fix them, then the rest shows.
    fixed = bad.replace('"-0.01"', '"0.01"').replace('"0.0000001"', '"0.001"').replace('"Bad Metric"', '"bad_metric"')
    ws2 = metered_ws(tmp_path / "second", lines=fixed)
    r = run_cli(ws2, "check")
    assert r.code == 1
    for expected in (
        f"{f}: lines[4].tiers[1].up_to: must be greater than the previous tier's up_to (1000): tiers ascend",
        f"{f}: lines[4].tiers[2].up_to: the last tier must be open",
        f"{f}: lines[5].unit_price: missing required key (pricing = \"per_unit\")",
        f"{f}: lines[6].package_size: missing required key (pricing = \"package\")",
        f"{f}: lines[7].tiers: only a metered line",
        f"{f}: discounts[0].percent: must be more than 0 and at most 100, got 150",
        f"{f}: discounts[0].line: 'nothing' is not a metric or description of this client's lines",
    ):
        assert expected in r.out, (expected, r.out)


def test_charge_is_billed_once_and_shown_by_the_dry_run(tmp_path: Path) -> None:
    ws = metered_ws(tmp_path)
    assert run_cli(ws, "charge", "meter", "10.005", "--description", "x").code == 1
    assert run_cli(ws, "charge", "meter", "0", "--description", "x").code == 1
    assert run_cli(ws, "charge", "meter", "5", "--description", " ").code == 1
    r = run_cli(ws, "charge", "meter", "250", "--description", "Migration", "--vat-rate", "10")
    assert r.code == 0, r.text
    dry = run_cli(ws, "run", "--dry-run", "--date", "2026-11-15", "--json")
    assert "419.00" in dry.out  # (100 + 20 storage minimum) x 1.2 + 250 x 1.1
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    lines = [l["description"] for p in sorted((ws / "data" / "invoices").rglob("*.json"))
             for l in json.loads(p.read_text())["lines"]]
    assert lines.count("Migration") == 1


def test_each_month_names_the_invoice_that_billed_it(tmp_path: Path) -> None:
    """October's usage is billed by November's invoice, November's by December's: each month's
    view and `usage list` name the invoice that billed that month, not the latest one."""
    ws = metered_ws(tmp_path)
    (tmp_path / "u.csv").write_text(USAGE + "meter,api_calls,50,2026-11-03,n1,\n", encoding="utf-8")
    assert run_cli(ws, "usage", "import", str(tmp_path / "u.csv")).code == 0
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    numbers = [e["number"] for e in journal(ws) if e["type"] == "invoice.issued"]
    assert numbers == ["2026-0001", "2026-0002"]
    views = ws / "data" / "usage" / "meter"
    assert json.loads((views / "2026-10.json").read_text())["invoiced_by"] == "2026-0001"
    assert json.loads((views / "2026-11.json").read_text())["invoiced_by"] == "2026-0002"
    listed = json.loads(run_cli(ws, "usage", "list", "--json").out)["rows"]
    assert {(r["month"], r["invoiced"]) for r in listed} == {("2026-10", "2026-0001"), ("2026-11", "2026-0002")}
    r = run_cli(ws, "usage", "record", "meter", "api_calls", "1", "--date", "2026-10-30", "--id", "late2")
    assert "are for 2026-10, already invoiced (2026-0001)" in r.out
    assert run_cli(ws, "verify").code == 0


NEVER_BILLED = [  # (client file additions, extra line, date, what the error says)
    ("", "", "0001-01-01", "date: 0001-01-01 is more than 5 years before today"),
    ("", "", "1970-01-01", "date: 1970-01-01 is more than 5 years before today"),
    ('start_date = 2026-10-10\n', "", "2026-09-30", "date: 2026-09-30 is before meter's start_date (2026-10-10)"),
    ('end_date = 2026-12-20\n', "", "2026-12-21", "date: 2026-12-21 is after meter's end_date (2026-12-20)"),
    ("", ('\n[[lines]]\ndescription = "Exports"\nmetric = "exports"\nfrom = 2026-11-01\n'
         'unit_price = "1.00"\n'), "2026-10-31", "date: no line of meter bills 'exports' in 2026-10"),
]


@pytest.mark.parametrize(("extra", "lines", "day", "message"), NEVER_BILLED)
def test_usage_that_would_never_be_billed_is_refused(tmp_path: Path, extra: str, lines: str, day: str,
                                                     message: str) -> None:
    # Usage outside what a client is billed for was recorded, then silently never invoiced.
    ws = metered_ws(tmp_path, extra, lines)
    metric = "exports" if lines else "api_calls"
    r = run_cli(ws, "usage", "record", "meter", metric, "5", "--date", day, "--id", "e1")
    # A date before 1900 is refused first by the one range every date is held to.
    said = f"date: {day} is out of the supported range" if day < "1900" else message
    assert r.code == 1 and said.removeprefix("date: ") in r.err and "Traceback" not in r.text, r.text
    (tmp_path / "u.csv").write_text(f"client,metric,quantity,date,id\nmeter,{metric},5,2026-11-15,ok\n"
                                    f"meter,{metric},5,{day},e1\n", encoding="utf-8")
    r = run_cli(ws, "usage", "import", str(tmp_path / "u.csv"))
    assert r.code == 1 and f"u.csv:3:{said}" in r.err and "u.csv:2:" not in r.err, r.text
    assert not usage_entries(ws)


@pytest.mark.parametrize(("content", "expected"), [
    ('client,metric,quantity,date,id\nmeter,api_calls,5,2026-10-15,evt"1\n',
     "u.csv:2:id: a double quote inside a field that is not enclosed in double quotes"),
    ('client,metric,quantity,date,id\nmeter,api_calls,5,2026-10-15,a1\r',
     "u.csv:2:-: the line ends with a lone carriage return"),
])
def test_a_usage_csv_holds_to_rfc_4180_like_a_batch_csv(tmp_path: Path, content: str, expected: str) -> None:
    ws = metered_ws(tmp_path)
    (tmp_path / "u.csv").write_bytes(content.encode())
    r = run_cli(ws, "usage", "import", str(tmp_path / "u.csv"))
    assert r.code == 1 and expected in r.err and "Traceback" not in r.text, r.text
    assert not usage_entries(ws)
    (tmp_path / "ok.csv").write_bytes(b'client,metric,quantity,date,id\r\nmeter,api_calls,5,2026-10-15,"evt""1"\r\n')
    assert run_cli(ws, "usage", "import", str(tmp_path / "ok.csv")).code == 0
    assert [r[0] for r in usage_entries(ws)] == ['evt"1']
