"""Shared fixtures: a fresh copy of the demo workspace and a runner for the real CLI."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Tests replay fixed dates in 2026 and 2027; writing commands refuse dates after "today", so
# pin today for every CLI subprocess (a test may override it through run_cli's env).
os.environ.setdefault("FACTURIER_TODAY", "2027-12-31")
# The validated configuration is cached in the user's cache folder (config/cache.py): the suite
# keeps its own, removed at exit, instead of leaving a file per test workspace in ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="facturier-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)
DEMO = REPO / "examples" / "demo"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(ws: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run `facturier --workspace ws ARGS` as a real subprocess and capture everything."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
        capture_output=True, text=True, env=full_env, timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def journal(ws: Path) -> list[dict[str, Any]]:
    """The workspace's journal entries."""
    path = ws / "data" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pdf_text(path: Path) -> str:
    """Text of every page of a PDF, with no-break spaces made plain."""
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def copy_demo(dest: Path, with_inbox: bool = False) -> Path:
    """A fresh copy of the bundled demo workspace (by default without the batch inbox)."""
    shutil.copytree(DEMO, dest)
    if not with_inbox:
        shutil.rmtree(dest / "data", ignore_errors=True)
    return dest


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A valid workspace: the demo's configuration, no data yet."""
    return copy_demo(tmp_path / "ws")


@pytest.fixture
def smtp_server() -> Any:
    """A real SMTP server on loopback requiring authentication; stopped after the test."""
    from tests.smtp_server import start_server

    server = start_server(auth=True)
    yield server
    server.controller.stop()
