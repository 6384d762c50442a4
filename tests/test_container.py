"""The container image's entry script (issue 26), run directly as CI does where no container
engine answers: `docker/daily.sh --once` runs `run`, `batch`, `remind` on a workspace; its
daily wait is wall-clock time in TZ; the Dockerfile downloads nothing at run time."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_demo, journal, run_cli

REPO = Path(__file__).resolve().parents[1]
DAILY = REPO / "docker" / "daily.sh"
SECONDS_UNTIL = REPO / "docker" / "seconds_until.py"


def daily(ws: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    facturier = f"{shlex.quote(sys.executable)} -m facturier.cli.app"
    environ = {**os.environ, "FACTURIER_BIN": facturier, "FACTURIER_WORKSPACE": str(ws),
               "PYTHONPATH": str(REPO / "src"), **env}
    return subprocess.run(["sh", str(DAILY), *args], env=environ, capture_output=True, text=True, timeout=300,
                          check=False)


def test_once_runs_the_daily_cycle_on_the_workspace(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    result = daily(ws, "--once")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.findall(r"daily\.sh: facturier (\w+)", result.stdout) == ["run", "batch", "remind"]
    types = {e["type"] for e in journal(ws)}
    assert {"batch.accepted", "batch.completed", "invoice.issued"} <= types  # the inbox's batch, issued
    assert run_cli(ws, "verify").code == 0


def test_a_failing_command_does_not_stop_the_others_and_fails_the_run(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    (ws / "facturier.toml").write_text("timezone = 3\n", encoding="utf-8")  # invalid: every command exits 1
    result = daily(ws, "--once")
    assert result.returncode == 1
    assert [c for c in ("run", "batch", "remind") if f"facturier {c} exited 1" in result.stdout] == \
        ["run", "batch", "remind"]
    assert "Traceback" not in result.stderr


def test_a_folder_without_a_workspace_or_a_bad_time_is_refused(tmp_path: Path) -> None:
    nothing = daily(tmp_path, "--once")
    assert nothing.returncode == 2 and "is not a Facturier workspace (no facturier.toml)" in nothing.stdout
    ws = copy_demo(tmp_path / "ws")
    bad = daily(ws, FACTURIER_DAILY_AT="29:00", FACTURIER_PYTHON=sys.executable)
    assert bad.returncode == 2 and "FACTURIER_DAILY_AT=29:00 is not a time like 09:15" in bad.stderr


@pytest.mark.parametrize("now,expected", [
    ("2026-12-01T07:00:00+01:00", 2 * 3600 + 15 * 60),  # later today
    ("2026-12-01T09:15:00+01:00", 24 * 3600),  # just ran: tomorrow
    ("2026-03-28T10:00:00+01:00", 22 * 3600 + 15 * 60),  # the night clocks go forward: 23 h days
    ("2026-10-24T10:00:00+02:00", 24 * 3600 + 15 * 60),  # the night clocks go back: 25 h days
])
def test_the_wait_is_wall_clock_time_in_tz(now: str, expected: int) -> None:
    result = subprocess.run([sys.executable, str(SECONDS_UNTIL), "09:15", now], capture_output=True, text=True,
                            env={**os.environ, "TZ": "Europe/Paris"}, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == expected


def test_the_image_is_slim_unprivileged_and_downloads_nothing_at_run_time() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))]
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    users = [rest for word, rest in instructions if word == "USER"]
    assert users and users[-1] != "root"
    assert ["VOLUME", '["/workspace"]'] in instructions and instructions[-1] == ["CMD", '["facturier-daily"]']
    for script in (DAILY, SECONDS_UNTIL):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\b(pip|curl|wget|apt-get|uv)\b", text), script
    compose = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert "./workspace:/workspace" in compose and "ports:" not in compose
