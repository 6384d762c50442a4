"""The batch against the seeds' engine, side by side in one run: the same 1,000 rows, wall and CPU.

A 1,000-row `facturier batch` (inbox to ZIP, Factur-X, both cores) and DomPDF rendering
the same 1,000 invoices (render only, one PHP process: `bench/dompdf_engine.py`), turn
about, twice each: batch, DomPDF, DomPDF, batch. The best run of each is compared (on a
shared machine other work only ever adds to a run). Speed goals are ratios against this
reference run (issue 27): ≥ 6× wall, ≥ 4× CPU. `python bench/run.py dompdf` (or
`make bench ONLY=dompdf`) runs only this.
"""

from __future__ import annotations

import os

from bench import dompdf_engine
from bench.bench_batch import RUN_DATE, make_workspace
from bench.common import fresh_dir, goal_at_least, row, timed_cli_tree

N = int(os.environ.get("BENCH_DOMPDF_ROWS", "1000"))


def _batch() -> tuple[float, float, float, object]:
    """(wall s, CPU s, peak RSS MiB, workspace) of one batch of the N rows."""
    ws = make_workspace(N, "dompdf-batch")
    wall, rss, _, cpu = timed_cli_tree(ws, "batch", "--date", RUN_DATE)
    return wall, cpu, rss, ws


def main() -> None:
    """Run the comparison and print its figures."""
    print(f"The batch against the seeds' engine, same {N:,} rows, same run (best of 2 each, turn about)")
    why = dompdf_engine.missing()
    batch_runs = [_batch()]
    ws = batch_runs[0][3]
    records = dompdf_engine.issued_records(ws)  # type: ignore[arg-type]
    assert len(records) == N, f"expected {N} invoices, got {len(records)}"
    dompdf_runs: list[tuple[float, float]] = []
    if why is None:
        html = fresh_dir("dompdf-html")
        dompdf_engine.write_html(records, html)
        for _ in range(2):
            dompdf_runs.append(dompdf_engine.render(html, fresh_dir("dompdf-pdf")))
    batch_runs.append(_batch())
    for wall, cpu, rss, _ in batch_runs:
        row("Facturier batch (Factur-X, 2 cores)", f"{wall:.2f} s wall, {wall * 1000 / N:.2f} ms/invoice; "
                                                   f"CPU {cpu * 1000 / N:.2f} ms/invoice; {rss:.0f} MiB")
    if why is not None:
        print(f"  DomPDF skipped: {why}")
        return
    for wall, cpu in dompdf_runs:
        row("DomPDF 2.0.3 render only (1 process)", f"{wall:.2f} s wall, {wall * 1000 / N:.2f} ms/invoice; "
                                                    f"CPU {cpu * 1000 / N:.2f} ms/invoice")
    b_wall, b_cpu = min(r[0] for r in batch_runs), min(r[1] for r in batch_runs)
    d_wall, d_cpu = min(r[0] for r in dompdf_runs), min(r[1] for r in dompdf_runs)
    row("ratio DomPDF / batch, wall", f"{d_wall / b_wall:.2f}x")
    row("ratio DomPDF / batch, CPU", f"{d_cpu / b_cpu:.2f}x")
    goal_at_least(f"batch vs DomPDF, same {N:,} rows, wall ratio", d_wall / b_wall, "x", 6)
    goal_at_least(f"batch vs DomPDF, same {N:,} rows, CPU ratio", d_cpu / b_cpu, "x", 4)
