"""OAuth tokens kept outside the workspace (Google, QuickBooks): written 0600 atomically, and
read only when they are a regular file of the current user that no one else can read."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from facturier.core.errors import FacturierError


def save_token(path: Path, token_json: str) -> None:
    """Write the token 0600 (its folder 0700), atomically: a crash never leaves half a token."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # Created 0600 from the start (whatever the umask): the token is never readable by others.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(token_json.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_private_token(path: Path, what: str, error: type[FacturierError], hint: str) -> dict[str, Any] | None:
    """The saved token's fields, None when there is no file; `error` (naming `what`, e.g. "the
    Google token", and saying `hint` to start again) when it is not a regular file of the
    current user, others may read it, or it holds no refresh token."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: {what} is not a regular file (a link?); refused")
    if info.st_uid != os.getuid():
        raise error(f"{path}: {what} is not owned by the current user; refused")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise error(f"{path}: {what} is readable by others (mode {mode:04o}); run: chmod 600 {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise error(f"{path}: not a {what.removeprefix('the ')} ({exc}); {hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("refresh_token"), str) or not data["refresh_token"]:
        raise error(f"{path}: {what} has no refresh token; {hint}")
    return data
