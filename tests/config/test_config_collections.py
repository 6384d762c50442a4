"""`[collections]` in facturier.toml and in client files: defaults, and every problem as `file: key: message`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from facturier.config import check_workspace, load_workspace, scaffold_workspace
from facturier.config.collections import DEFAULT_WINDOW
from facturier.core.dunning import DEFAULT_STAGES, Window

if TYPE_CHECKING:
    from conftest import EditableWorkspace

CONFIG = "facturier.toml"
ACME = "clients/acme.toml"
IMAP = """
[collections.imap]
host = "imap.example.com"
username = "billing@palks.example"
password_env = "FACTURIER_IMAP_PASSWORD"
"""


def with_collections(demo: EditableWorkspace, body: str) -> list[str]:
    """Append a [collections] section to facturier.toml and return the problems."""
    demo.append(CONFIG, "\n[collections]\n" + body)
    return check_workspace(demo.root)


def test_defaults_without_a_section(demo: EditableWorkspace) -> None:
    collections = load_workspace(demo.root).config.collections
    assert collections.enabled and collections.dry_run and not collections.combine
    assert collections.stage_tuple() == DEFAULT_STAGES
    assert collections.drafting_window() == Window(8 * 60, 18 * 60)
    assert collections.window == DEFAULT_WINDOW == "08:00-18:00"
    assert collections.drafts == "outbox" and collections.imap is None
    assert load_workspace(demo.root).clients["acme"].collections.enabled


def test_a_new_workspace_is_a_dry_run(tmp_path: Path) -> None:
    scaffold_workspace(tmp_path)
    text = (tmp_path / CONFIG).read_text("utf-8")
    for key in ("[collections]", "dry_run = true", "stages", "window", "drafts", "combine",
                "[collections.imap]", "password_env", "mailbox"):
        assert key in text, key
    assert "[collections]" in (tmp_path / "clients" / "example-client.toml").read_text("utf-8")
    assert load_workspace(tmp_path).config.collections.dry_run


def test_the_notice_says_dry_run_or_off(demo: EditableWorkspace) -> None:
    assert "dry run" in (load_workspace(demo.root).config.collections.notice() or "")
    assert with_collections(demo, "enabled = false\ndry_run = false\n") == []
    assert "off" in (load_workspace(demo.root).config.collections.notice() or "")
    demo.replace(CONFIG, "enabled = false", "enabled = true")
    assert load_workspace(demo.root).config.collections.notice() is None


def test_a_full_section_loads(demo: EditableWorkspace) -> None:
    assert with_collections(demo, 'dry_run = false\nstages = [10, 30, 60]\nwindow = "09:30-17:00"\n'
                                  'drafts = "imap"\ncombine = true\n' + IMAP) == []
    collections = load_workspace(demo.root).config.collections
    assert collections.stage_tuple() == (10, 30, 60) and collections.combine
    assert collections.imap is not None and collections.imap.effective_port() == 993


@pytest.mark.parametrize(("body", "problem"), [
    ("stages = []", "collections.stages: needs at least one stage, e.g. [7, 14, 21, 28, 35, 42]"),
    ("stages = [14, 7]", "collections.stages: stages must be strictly increasing, got [14, 7]"),
    ("stages = [0, 7]", "collections.stages: each stage is a number of days from 1 to 3650, got 0"),
    ('stages = ["7"]', "collections.stages[0]: expected an integer, got '7'"),
    ('window = "8h-18h"', "collections.window: '8h-18h' is not a window like \"08:00-18:00\""),
    ('window = "18:00-08:00"', ("collections.window: '18:00-08:00': the window must end after it starts, "
                               "within one day")),
    ('drafts = "pigeon"', "collections.drafts: unsupported value 'pigeon'; expected 'outbox', 'imap' or 'gmail'"),
    ('drafts = "imap"', ('collections.imap: required when drafts = "imap" (a [collections.imap] table with '
                        "host, username and password_env)")),
    ('dry_run = "no"', "collections.dry_run: expected true or false, got 'no'"),
    ("remind = true", "collections.remind: unknown key"),
])
def test_each_problem(demo: EditableWorkspace, body: str, problem: str) -> None:
    assert with_collections(demo, body + "\n") == [f"facturier.toml: {problem}"]


def test_imap_problems_are_all_listed(demo: EditableWorkspace) -> None:
    body = ('drafts = "imap"\n[collections.imap]\nhost = "imap.example.com"\nsecurity = "none"\n'
            'port = 0\npassword_env = "my secret"\n')
    problems = with_collections(demo, body)
    assert problems[:3] == [
        "facturier.toml: collections.imap.port: must be at least 1, got 0",
        ("facturier.toml: collections.imap.security: \"none\" is only allowed for a loopback host, "
        "not 'imap.example.com'"),
        "facturier.toml: collections.imap.username: missing required key",
    ]
    assert len(problems) == 4
    problem = problems[3]
    # The same rule as [mail.smtp]: a value that is not a variable name may be the password.
    assert problem.startswith("facturier.toml: collections.imap.password_env: is not an environment")
    assert "my secret" not in problem


def test_plain_imap_on_loopback_is_allowed(demo: EditableWorkspace) -> None:
    body = ('drafts = "imap"\n[collections.imap]\nhost = "127.0.0.1"\nsecurity = "none"\n'
            'username = "u"\npassword_env = "P"\n')
    assert with_collections(demo, body) == []
    imap = load_workspace(demo.root).config.collections.imap
    assert imap is not None and imap.effective_port() == 143


def test_a_client_can_opt_out(demo: EditableWorkspace) -> None:
    demo.replace(ACME, "[options]", "[collections]\nenabled = false\n\n[options]")
    assert check_workspace(demo.root) == []
    assert not load_workspace(demo.root).clients["acme"].collections.enabled


def test_client_section_problems(demo: EditableWorkspace) -> None:
    demo.replace(ACME, "[options]", "[collections]\nenabled = 0\nstages = [7]\n\n[options]")
    assert check_workspace(demo.root) == [
        "clients/acme.toml: collections.enabled: expected true or false, got 0",
        "clients/acme.toml: collections.stages: unknown key",
    ]
