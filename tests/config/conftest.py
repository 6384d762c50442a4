"""Fixtures: a private copy of the demo workspace that each test may break in its own way."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo"


@dataclass
class EditableWorkspace:
    """A workspace directory with small helpers to write or edit its files."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        """Write a file (creating its directory) and return its path."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def replace(self, relative: str, old: str, new: str) -> None:
        """Replace text in a file, failing loudly when the text is absent."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def append(self, relative: str, text: str) -> None:
        """Append text to a file."""
        path = self.root / relative
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.fixture
def demo(tmp_path: Path) -> EditableWorkspace:
    """A private copy of examples/demo."""
    root = tmp_path / "ws"
    shutil.copytree(DEMO_DIR, root)
    return EditableWorkspace(root)
