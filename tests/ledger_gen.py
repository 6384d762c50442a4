"""Generated ledgers for property tests: random years of documents and payments, written as a
valid hash-chained journal (no files: documents without a JSON record are booked at the one
rate their totals imply, like imported history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from facturier.store.journal import GENESIS, canonical, entry_hash

CLIENTS = (("acme", "EUR", "ACME\tSARL"), ("north", "GBP", "Northwind <b>Ltd</b>"), ("zed", "EUR", "Zed & Co"))
RATES = (Decimal(20), Decimal("5.5"), Decimal(0))


@dataclass(frozen=True)
class Fact:
    """What the generator draws: an invoice (with maybe a credit note and payments)."""

    client: int
    day: int  # days after January 1st of the first year
    cents: int
    rate: int
    paid: tuple[int, ...]  # percent of the total per payment
    credit: int  # percent credited (0: none)
    batch: bool


FACTS = st.lists(st.builds(
    Fact, client=st.integers(0, 2), day=st.integers(0, 700), cents=st.integers(1, 2_000_000),
    rate=st.integers(0, 2), paid=st.lists(st.integers(1, 120), max_size=3).map(tuple),
    credit=st.sampled_from([0, 0, 0, 30, 100]), batch=st.booleans(),
), min_size=1, max_size=40)


def entries_for(facts: list[Fact], first_year: int) -> list[dict[str, Any]]:
    """Journal entries (without seq, prev, hash) in date order."""
    start = date(first_year, 1, 1)
    out: list[tuple[date, int, dict[str, Any]]] = []
    for i, f in enumerate(facts):
        client, cur, name = CLIENTS[f.client]
        day = start + timedelta(days=f.day)
        excl = Decimal(f.cents).scaleb(-2)
        vat = (excl * RATES[f.rate] / 100).quantize(Decimal("0.01"))
        incl = excl + vat
        number = f"{day.year}-{i:05d}"
        seller = "bakery" if f.batch else "issuer"
        who = "bakery" if f.batch else client
        doc = {"type": "invoice.issued", "kind": "invoice", "number": number, "series": f"{seller}|{day.year}",
               "series_seq": i + 1, "seller": seller, "client": who, "client_name": name, "mode": "live",
               "date": day.isoformat(), "due_date": (day + timedelta(days=30)).isoformat(), "currency": cur,
               "total_excl_vat": str(excl), "total_vat": str(vat), "total_incl_vat": str(incl), "files": {}}
        out.append((day, 0, doc))
        if f.batch:
            continue
        if f.credit:
            c_excl = (excl * f.credit / 100).quantize(Decimal("0.01"))
            c_vat = (c_excl * RATES[f.rate] / 100).quantize(Decimal("0.01"))
            cday = day + timedelta(days=10)
            out.append((cday, 1, {**doc, "type": "credit_note.issued", "kind": "credit_note", "number": f"AV-{number}",
                                  "series": f"AV|{cday.year}", "date": cday.isoformat(),
                                  "due_date": cday.isoformat(), "refers_to": number,
                                  "total_excl_vat": str(c_excl), "total_vat": str(c_vat),
                                  "total_incl_vat": str(c_excl + c_vat)}))
        for k, pct in enumerate(f.paid):
            amount = (incl * pct / 100).quantize(Decimal("0.01"))
            part = min(amount, incl)
            pday = day + timedelta(days=5 + 20 * k)
            out.append((pday, 2, {"type": "payment.recorded", "client": client, "date": pday.isoformat(),
                                  "amount": str(amount), "currency": cur, "method": "transfer",
                                  "reference": f"VIR {i}-{k}", "source": "manual",
                                  "allocation": [{"number": number, "amount": str(part)}],
                                  "unallocated": str(amount - part)}))
    out.sort(key=lambda t: (t[0], t[1]))
    return [e for _, _, e in out]


def write_journal(path: Path, entries: list[dict[str, Any]]) -> None:
    """A valid hash-chained journal of these entries."""
    prev = GENESIS
    with open(path, "wb") as fh:
        for seq, data in enumerate(entries, start=1):
            entry = {"seq": seq, "at": f"{data['date']}T12:00:00.000000Z", **data, "prev": prev}
            entry["hash"] = prev = entry_hash(entry)
            fh.write(canonical(entry) + b"\n")
