"""E-invoicing (issue 25): `transmit` of 10,000 already-issued invoices to the loopback platform,
then `statuses` over 10,000 lifecycle flows (goals: <= 60 s and <= 300 MB; <= 20 s).

The goals are checked on the command's CPU time (user + system), not its wall time: the
machine is shared, and the loopback platform runs in this process, on the same cores, so
the wall time also counts the platform's own work and everyone else's. Peak RSS is the
command's. Run it alone: `python bench/run.py bench_einvoicing`.
FACTURIER_BENCH_EINVOICES sets the count (a quick functional check uses a few dozen)."""

from __future__ import annotations

import os
import sys

from bench.bench_issue import make_workspace
from bench.common import REPO, goal, row, timed_cli, timed_cli_tree

N = int(os.environ.get("FACTURIER_BENCH_EINVOICES", "10000"))


def siren(i: int) -> str:
    """A valid SIREN per client (Luhn check digit)."""
    from stdnum import luhn

    body = f"{10_000_000 + i:08d}"
    return body + luhn.calc_check_digit(body)


def main() -> None:
    """Issue N invoices with e-invoicing off, then time transmit and statuses against the platform."""
    sys.path.insert(0, str(REPO))
    from tests.pa_server import ENV, LoopbackPA

    pa = LoopbackPA()
    ws = make_workspace(N, "einvoicing")
    for i, path in enumerate(sorted((ws / "clients").glob("*.toml"))):
        text = path.read_text(encoding="utf-8").replace('country = "FR"\n', f'country = "FR"\nsiren = "{siren(i)}"\n')
        path.write_text(text, encoding="utf-8")
        pa.state.directory[siren(i)] = "Loopback PA"
    os.environ.update(ENV)
    try:
        timed_cli(ws, "run", "--date", "2026-11-15")  # issuing, e-invoicing off (not timed here)
        toml = ws / "facturier.toml"
        toml.write_text(toml.read_text(encoding="utf-8") + pa.config(since="2026-01-01"), encoding="utf-8")
        wall, rss, _, cpu = timed_cli_tree(ws, "transmit", "--date", "2026-11-15")
        flows = pa.state.sent(syntax="Factur-X")
        assert len(flows) == N, f"expected {N} flows, got {len(flows)}"
        for flow in flows:
            pa.emit_status(flow.name.removesuffix(".pdf"), "200")
        status_wall, status_rss, _, status_cpu = timed_cli_tree(ws, "statuses", "--date", "2026-11-20")
    finally:
        pa.stop()
    print(f"E-invoicing: {N} invoices transmitted to a loopback platform, then {N} statuses fetched")
    row("transmit CPU (user + system)", f"{cpu:.2f} s ({cpu * 1000 / N:.2f} ms/invoice), wall {wall:.2f} s")
    row("transmit peak RSS", f"{rss:.0f} MiB")
    row("statuses CPU (user + system)", f"{status_cpu:.2f} s, wall {status_wall:.2f} s, peak RSS {status_rss:.0f} MiB")
    scale = 10_000 / N  # the goals are for 10,000
    goal("transmit 10,000 invoices, CPU s", cpu * scale, "s", 60)
    goal("transmit 10,000 invoices, peak RSS", rss * 2**20 / 1e6, "MB", 300)
    goal("statuses over 10,000 flows, CPU s", status_cpu * scale, "s", 20)
