"""Workspaces with overdue invoices for the collections tests (issue 11).

`base_workspace` issues the demo's November invoices once per test module (acme, sent by the
outbox transport, so its Message-ID is journalled; northwind, never sent; the sandbox's test
invoice; and `extra` copies of acme), with `[collections] dry_run = false` and a window
open all day; each test works on a copy (`clone`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import copy_demo, journal, run_cli

OPEN_ALL_DAY = '[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'


def set_text(ws: Path, rel: str, old: str, new: str) -> None:
    """Replace a text in a workspace file (it must be there)."""
    path = ws / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_clients(ws: Path, n: int) -> None:
    """n more French business clients like acme (client0, client1, ...)."""
    acme = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    for i in range(n):
        text = acme.replace("compta@acme.example", f"compta@client{i}.example").replace("ACME SARL", f"Client {i}")
        (ws / "clients" / f"client{i}.toml").write_text(text, encoding="utf-8")


def configure(ws: Path, collections: str) -> None:
    """Replace the [collections] section (always last in the file) with this text."""
    path = ws / "facturier.toml"
    text = path.read_text(encoding="utf-8")
    head = text.split("\n[collections]\n", 1)[0]
    path.write_text(head + "\n" + collections, encoding="utf-8")


def base_workspace(root: Path, extra: int = 0, date: str = "2026-11-15", collections: str = OPEN_ALL_DAY,
                   edit: Any = None) -> Path:
    """The demo with `extra` acme-like clients, its invoices of `date` issued (and sent)."""
    ws = copy_demo(root / "base")
    (ws / "facturier.toml").write_text((ws / "facturier.toml").read_text(encoding="utf-8") + "\n" + collections,
                                       encoding="utf-8")
    add_clients(ws, extra)
    if edit is not None:
        edit(ws)
    result = run_cli(ws, "run", "--date", date)
    assert result.code == 0, result.text
    return ws


def clone(base: Path, dest: Path) -> Path:
    """A copy of a base workspace for one test."""
    shutil.copytree(base, dest, symlinks=True)
    return dest


def numbers_of(ws: Path) -> dict[str, str]:
    """client -> its (first) invoice number."""
    out: dict[str, str] = {}
    for e in journal(ws):
        if e["type"] == "invoice.issued":
            out.setdefault(e["client"], e["number"])
    return out


def of_type(ws: Path, type_: str) -> list[dict[str, Any]]:
    """The journal entries of one type."""
    return [e for e in journal(ws) if e["type"] == type_]
