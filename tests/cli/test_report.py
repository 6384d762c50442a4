"""`facturier report`: every figure equals the `balances` / `export` / `invoices` / `verify` one,
hostile names stay text, and the command's errors are one clear line."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO, journal, run_cli
from tests.report_books import build_books

AS_OF = "2026-06-30"
ZERO = Decimal(0)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = build_books(tmp_path_factory.mktemp("report") / "ws")
    r = run_cli(ws, "report", "--year", "2026", "--date", AS_OF)
    assert r.code == 0, r.text
    return ws


def figures_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="facturier-figures">(.*?)</script>', html, re.DOTALL)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.fixture(scope="module")
def figures(books: Path) -> dict[str, Any]:
    return figures_of((books / "exports" / "report-2026.html").read_text(encoding="utf-8"))


def csv_rows(ws: Path, name: str, year: int) -> list[dict[str, str]]:
    out = ws / f"{name}-{year}.csv"
    r = run_cli(ws, "export", name, "--year", str(year), "--out", str(out))
    assert r.code == 0, r.text
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))


def balances(ws: Path, day: str) -> list[dict[str, str]]:
    r = run_cli(ws, "balances", "--date", day, "--json")
    assert r.code == 0, r.text
    rows: list[dict[str, str]] = json.loads(r.out)["rows"]
    return rows


BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")


def test_monthly_figures_equal_the_exports(books: Path, figures: dict[str, Any]) -> None:
    for year in (2025, 2026):
        invoiced: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
        received: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 12)
        for row in csv_rows(books, "revenues", year):
            invoiced[row["currency"]][int(row["invoice_date"][5:7]) - 1] += Decimal(row["amount_incl_vat"])
        for row in csv_rows(books, "receipts", year):
            received[row["currency"]][int(row["payment_date"][5:7]) - 1] += Decimal(row["amount"])
        for cur in ("EUR", "GBP"):
            shown = figures["currencies"][cur]
            assert [Decimal(v) for v in shown["invoiced"][str(year)]] == invoiced[cur]
            assert [Decimal(v) for v in shown["received"][str(year)]] == received[cur]
    revenues = csv_rows(books, "revenues", 2026)
    eur = figures["currencies"]["EUR"]
    assert Decimal(eur["invoiced_excl_vat"]) == sum(
        (Decimal(r["amount_excl_vat"]) for r in revenues if r["currency"] == "EUR"), ZERO)
    assert Decimal(eur["vat"]) == sum((Decimal(r["vat_amount"]) for r in revenues if r["currency"] == "EUR"), ZERO)
    assert eur["invoiced_incl_vat"] == "7027.28" and eur["received_total"] == "2827.88"


def test_aging_and_top_overdue_equal_balances_and_invoices(books: Path, figures: dict[str, Any]) -> None:
    rows = balances(books, AS_OF)
    for cur, shown in figures["currencies"].items():
        mine = [r for r in rows if r["currency"] == cur]
        for bucket in BUCKETS:
            assert Decimal(shown["aging"][bucket]) == sum((Decimal(r[bucket]) for r in mine), ZERO)
        assert Decimal(shown["credit"]) == sum((Decimal(r["credit"]) for r in mine), ZERO)
        overdue = {r["client"]: sum((Decimal(r[b]) for b in BUCKETS[1:]), ZERO) for r in mine}
        top = shown["top_overdue"]
        assert [t["client"] for t in top] == sorted((c for c in overdue if overdue[c]), key=lambda c: -overdue[c])
        for t in top:
            assert Decimal(t["overdue"]) == overdue[t["client"]]
            r = run_cli(books, "invoices", "--client", t["client"], "--status", "overdue", "--date", AS_OF, "--json")
            late = json.loads(r.out)["rows"]
            oldest = min(late, key=lambda x: (x["due_date"], x["number"]))
            assert (t["oldest_number"], t["oldest_due"]) == (oldest["number"], oldest["due_date"])
    assert figures["currencies"]["GBP"]["top_overdue"][0]["last_stage"] == "30"


def countback(outstanding: Decimal, day: date, currency: str, revenues: list[dict[str, str]]) -> str | None:
    """Countback DSO from the `export revenues` rows: the days of most recent net sales, walking
    back from `day`, that make up `outstanding` (the day reaching it counted pro rata)."""
    net: dict[date, Decimal] = {}
    for r in revenues:
        if r["currency"] == currency and r["invoice_date"] <= day.isoformat():
            issued = date.fromisoformat(r["invoice_date"])
            net[issued] = net.get(issued, ZERO) + Decimal(r["amount_incl_vat"])
    later, left = day, outstanding
    for issued in sorted(net, reverse=True):
        if ZERO < net[issued] >= left:
            days = (day - later).days + left / net[issued] * (later - issued).days
            return str(days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        left -= net[issued]
        later = issued
    return None


def test_dso_per_month_equals_balances_at_each_month_end(books: Path, figures: dict[str, Any]) -> None:
    revenues = csv_rows(books, "revenues", 2025) + csv_rows(books, "revenues", 2026)
    for cur, shown in figures["currencies"].items():
        points = shown["dso"]
        assert [p["date"] for p in points] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30",
                                              "2026-05-31", "2026-06-30"]
        for p in points:
            rows = [r for r in balances(books, p["date"]) if r["currency"] == cur]
            outstanding = sum((Decimal(r[b]) for r in rows for b in BUCKETS), ZERO)
            assert Decimal(p["outstanding"]) == outstanding
            day = date.fromisoformat(p["date"])
            start = (day - timedelta(days=90)).isoformat()
            net = sum((Decimal(r["amount_incl_vat"]) for r in revenues
                       if r["currency"] == cur and start < r["invoice_date"] <= p["date"]), ZERO)
            assert Decimal(p["invoiced_90_days"]) == net
            assert p["dso"] == countback(outstanding, day, cur, revenues)
            if cur == "GBP":  # one GBP client: the currency's DSO is that client's, as balances prints it
                assert p["dso"] == rows[0]["dso"]


def test_reminders_batch_and_journal_head(books: Path, figures: dict[str, Any]) -> None:
    assert figures["reminders"] == {"7": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "15": [0, 0, 1] + [0] * 9,
                                    "30": [0, 0, 1] + [0] * 9}
    # 2025-0007 (last reminded at stage 7) and 2025-0004 (stage 15) are paid by the report date.
    paid = {row["number"] for row in json.loads(run_cli(books, "invoices", "--status", "paid", "--date", AS_OF,
                                                        "--json").out)["rows"]}
    assert {"2025-0004", "2025-0007"} <= paid and "2026-0003" not in paid
    assert figures["paid_after_stage"] == {"7": 1, "15": 1, "30": 0}
    batch = [e for e in journal(books) if e["type"] == "invoice.issued" and e["seller"] == "boulangerie-martin"]
    assert figures["batch"] == {"boulangerie-martin": [0] * 10 + [len(batch), 0]}
    verify = run_cli(books, "verify")
    assert f"The journal ends at entry {figures['journal']['entry']}, hash {figures['journal']['hash']}" in verify.out
    html = (books / "exports" / "report-2026.html").read_text(encoding="utf-8")
    assert f"entrée {figures['journal']['entry']}, empreinte {figures['journal']['hash']}" in html


def test_hostile_client_names_stay_text(books: Path) -> None:
    html = (books / "exports" / "report-2026.html").read_text(encoding="utf-8")
    assert "<img" not in html and "alert(2)</script>" not in html
    assert "Atelier &lt;img src=x onerror=alert(1)&gt; &amp; &#34;Co&#34; &lt;/td&gt;" in html
    assert html.count("<script") == 1 and '<script type="application/json"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_english_default_path_and_empty_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    r = run_cli(ws, "report", "--year", "2026", "--language", "en")
    assert r.code == 0, r.text
    html = (ws / "exports" / "report-2026.html").read_text(encoding="utf-8")
    assert "2026 report" in html and "No reminders yet." in html and "The journal ends at entry 0" in html
    assert "No invoice and no payment this year." in html
    # Nothing is overdue: the most-overdue section says so, and no reminder note stands under it.
    top = html.split("most overdue", 1)[1].split("<h2>", 1)[0]
    assert 'id="no-reminders"' not in top and "No reminders yet." not in top
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    r = run_cli(ws, "report", "--year", "2026", "--date", "2026-11-30", "--out", str(tmp_path / "r.html"))
    assert r.code == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Pas encore de relance." in html and "827,88\u00a0€" in html


def test_bad_options_are_one_clear_line(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    r = run_cli(ws, "report", "--year", "2026", "--language", "de")
    assert r.code == 1 and r.err.strip() == "Error: --language: 'de' is not supported; use fr or en"
    r = run_cli(ws, "report", "--year", "2026", "--date", "2026-13-01")
    assert r.code == 2 and "Traceback" not in r.text and "is not a date" in r.err
    assert not (ws / "exports").exists()


@pytest.mark.parametrize("args", [("--year", "2025"), ("--year", "2026", "--date", "2026-03-31")])
def test_a_past_date_takes_later_facts_back_and_shows_what_a_replay_shows(
        books: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """A report at a date before the latest facts reads the running accounts with the later
    facts taken back, never a replay of every fact (issue 23: 11.5 s on 1M entries); its page is
    the very page the replay gives."""
    from facturier.store.state.client_accounts import Accounts

    ws = tmp_path / "ws"
    shutil.copytree(books, ws)
    page = ws / "exports" / f"report-{args[1]}.html"

    def no_replay(self: Accounts, client: str, as_of: date) -> list[Any]:
        raise AssertionError(f"replayed {client} at {as_of}")

    rewound, taken = Accounts.rewound, []

    def counted(self: Accounts, client: str, as_of: date, rows: bool = True) -> list[Any] | None:
        found = rewound(self, client, as_of, rows)
        taken.append(found is not None)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(Accounts, "replayed", no_replay)
        patched.setattr(Accounts, "rewound", counted)
        r = run_cli(ws, "report", *args)
        assert r.code == 0, r.text
    assert taken and all(taken)  # later facts were there to take back
    taken_back = page.read_text(encoding="utf-8")
    monkeypatch.setattr(Accounts, "rewound", lambda self, client, as_of, rows=True: None)
    r = run_cli(ws, "report", *args)
    assert r.code == 0, r.text
    assert figures_of(taken_back)["currencies"]  # the books owe something at that date
    assert page.read_text(encoding="utf-8") == taken_back
