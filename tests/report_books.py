"""A workspace with two years of books for the report tests and the docs screenshot.

The demo, with atelier-lumiere switched on under a hostile name, monthly runs from
2025-10 to 2026-06, a batch file, payments on time, late, partial and in excess, a credit
note, and `reminder.drafted` entries (journalled the way collections journal them).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from facturier.store.events import ReminderEvent, T
from facturier.store.ledger import Ledger
from tests.conftest import DEMO, run_cli

HOSTILE = 'Atelier <img src=x onerror=alert(1)> & "Co" </td><script>alert(2)</script>'
RUN_DAYS = [f"2025-{m:02d}-15" for m in (10, 11, 12)] + [f"2026-{m:02d}-15" for m in range(1, 7)]


def build_books(ws: Path) -> Path:
    """Copy the demo to `ws` and play the books into it."""
    shutil.copytree(DEMO, ws)
    client = ws / "clients" / "atelier-lumiere.toml"
    client.write_text(client.read_text(encoding="utf-8").replace('name = "Atelier Lumière"', f"name = '{HOSTILE}'")
                      .replace("active = false", "active = true"), encoding="utf-8")
    with open(ws / "facturier.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[accounting]\nexchange_rates = { GBP = "1.1650" }\n')
    steps: list[tuple[str, ...]] = []
    for day in RUN_DAYS:
        steps.append(("run", "--date", day))
    steps += [
        ("batch", "--date", "2026-11-15"),
        ("pay", "acme", "827.88", "--date", "2025-11-10"),  # October on time
        ("pay", "acme", "827.88", "--date", "2026-01-20"),  # November late
        ("pay", "acme", "2000.00", "--date", "2026-04-02"),  # December, January, and a credit
        ("pay", "northwind", "1770.00", "--date", "2025-11-28"),
        ("pay", "northwind", "1000.00", "--date", "2026-03-01"),  # partial
        ("pay", "atelier-lumiere", "360.00", "--date", "2025-12-01"),
        ("credit", "2026-0001", "--amount", "100.00", "--date", "2026-02-20"),
    ]
    for args in steps:
        r = run_cli(ws, *args)
        assert r.code == 0, (args, r.text)
    reminders = [("2025-0004", "acme", 7, "2025-12-22"), ("2025-0004", "acme", 15, "2025-12-30"),
                 ("2025-0007", "acme", 7, "2026-01-22"), ("2026-0003", "northwind", 7, "2026-03-08"),
                 ("2026-0003", "northwind", 15, "2026-03-16"), ("2026-0003", "northwind", 30, "2026-03-31"),
                 ("2026-0002", "atelier-lumiere", 7, "2026-02-21")]
    with Ledger(ws) as ledger:
        for number, client, stage, day in reminders:
            ledger.append(ReminderEvent(type=T.REMINDER_DRAFTED, number=number, client=client,
                                        stage=stage, date=date.fromisoformat(day), store="outbox",
                                        message_id="", draft_id=f"{number}-{stage}"))
    return ws
