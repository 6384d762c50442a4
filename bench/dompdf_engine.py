"""The seeds' engine, DomPDF, rendering the invoices a batch issued: for the side-by-side bench.

The original system rendered its invoices with DomPDF (PHP). `bench_dompdf` renders the
very invoices a Facturier batch issued (their canonical records, read back from the
workspace) with Debian's `php-dompdf` 2.0.3, from the same view the Typst template lays
out (`render/view.py`) through an HTML template of the same one-page French invoice
(`bench/dompdf/invoice.html.j2`). The HTML is written beforehand and not measured: what is
measured is DomPDF alone, HTML to PDF files, in one `php` process, as the earlier
measurements (`/work/shared/MEASUREMENTS.md`) did.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "dompdf"
AUTOLOAD = Path("/usr/share/php/dompdf/autoload.php")
PACKAGES = ["php-cli", "php-dompdf"]


def missing() -> str | None:
    """Why DomPDF cannot run here (None when it can); installs it first when root with apt-get.

    Installing needs root and Debian's apt-get (the bench target is run as root on the
    reference machine); anywhere else the comparison is skipped with this message.
    """
    if shutil.which("php") and AUTOLOAD.is_file():
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"  installing {' '.join(PACKAGES)} with apt-get (the seeds' engine) ...", flush=True)
        done = subprocess.run(["apt-get", "install", "-y", "-q", *PACKAGES], capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
        if done.returncode == 0 and shutil.which("php") and AUTOLOAD.is_file():
            return None
        return f"apt-get install {' '.join(PACKAGES)} failed: {done.stderr.strip()[-300:]}"
    return (f"DomPDF is not installed ({'php' if not shutil.which('php') else AUTOLOAD} missing) and this is "
            f"not a root shell with apt-get: install {' '.join(PACKAGES)} (Debian) to compare")


def issued_records(ws: Path) -> list[dict[str, Any]]:
    """The canonical records of the invoices a batch issued in workspace `ws`, in number order."""
    files = sorted((ws / "data" / "invoices_batch").rglob("*.json"))
    records = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return sorted(records, key=lambda r: (r["series"], r["seq"]))


def write_html(records: list[dict[str, Any]], folder: Path) -> None:
    """One HTML file per record, from the view the Typst template gets (no QR code: see the template)."""
    import jinja2

    from facturier.render.view import build_view

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True)
    template = env.get_template("invoice.html.j2")
    folder.mkdir(parents=True, exist_ok=True)
    for index, record in enumerate(records):
        # PDF's standard fonts have no narrow no-break space (French "5,5 %"): a plain one instead.
        html = template.render(v=build_view(record)).replace("\u202f", "\u00a0")
        (folder / f"{index:06d}.html").write_text(html, encoding="utf-8")


def render(html: Path, pdfs: Path) -> tuple[float, float]:
    """(wall s, CPU s user + system) of one `php` process rendering every HTML file of `html`."""
    pdfs.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(["php", str(HERE / "render.php"), str(html), str(pdfs)],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or "Warning" in done.stderr:  # a warning: e.g. text drawn without its font
        raise SystemExit(f"DomPDF failed: {done.stderr.strip()[-2000:]}")
    expected = len(list(html.glob("*.html")))
    if int(done.stdout.split()[-1]) != expected or len(list(pdfs.glob("*.pdf"))) != expected:
        raise SystemExit(f"DomPDF wrote {done.stdout.strip()} PDFs, expected {expected}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
