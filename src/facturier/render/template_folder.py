"""A workspace's `templates/` folder, checked before Typst may read anything in it.

The folder is the Typst root of an override template, and Typst refuses paths that leave
the root (`#read("../x")`), but it follows symbolic links: `templates/x -> /etc/passwd`
would let `#read("x")` print a file from outside the workspace on an invoice. So every
entry of the folder must be a regular file or a folder, never a link (nor a FIFO or a
device, on which a read would hang), and the folder itself must not be a link.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from facturier.core.errors import FacturierError

# Typst also reads packages (`#import "@local/..."`) from the user's data folder, outside the
# templates; pointing it at a path that can never exist refuses them, and refuses to download.
NO_PACKAGES: Final = Path("/dev/null/typst-packages")


class TemplateFolderError(FacturierError):
    """The templates folder holds something Typst could follow out of it."""


def template_folder_problems(folder: Path) -> list[tuple[str, str]]:
    """(entry as `templates/x`, why Typst may not read it) for every bad entry of `folder`."""
    shown = folder.name or str(folder)
    if folder.is_symlink():
        return [(shown, "a symbolic link; the templates folder must be a real folder of the workspace")]
    problems: list[tuple[str, str]] = []
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(parent, name)
            problem = _entry_problem(path)
            if problem:
                problems.append((f"{shown}/{path.relative_to(folder).as_posix()}", problem))
    return problems


def _entry_problem(path: Path) -> str | None:
    """What is wrong with one entry, or None for a regular file or a folder."""
    try:
        mode = path.lstat().st_mode  # lstat: the link itself, never what it points to
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if stat.S_ISLNK(mode):
        return ("a symbolic link; a template may only read regular files inside the templates "
                "folder (copy the file there instead of linking it)")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file; a template may only read regular files"
    return None


def ensure_template_folder(folder: Path) -> None:
    """Raise TemplateFolderError naming every entry Typst could follow out of `folder`."""
    problems = template_folder_problems(folder)
    if problems:
        lines = [f"{entry}: {message}" for entry, message in problems]
        raise TemplateFolderError("refusing the workspace templates:\n" + "\n".join(lines))
