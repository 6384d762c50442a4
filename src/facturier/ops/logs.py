"""Human-readable execution logs under data/logs/ (deletable; the journal is the record)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from facturier.core.text import printable
from facturier.store.files import ensure_dir, open_append
from facturier.store.paths import WorkspacePaths


def log(root: Path, message: str, client_id: str | None = None) -> None:
    """Append one timestamped line to facturier.log and, if given, to the client's log.

    The message is escaped (`printable`): a file name holding a newline must not forge a line.
    """
    log_many(root, [(message, client_id)])


def log_many(root: Path, lines: list[tuple[str, str | None]]) -> None:
    """`log` for many (message, client id) pairs: each log file opened once, lines in order."""
    if not lines:
        return
    logs = WorkspacePaths(root).logs
    ensure_dir(logs)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    main: list[str] = []
    per_client: dict[str, list[str]] = {}
    for message, client_id in lines:
        message = printable(message)
        main.append(f"{stamp} {message}\n" if client_id is None else f"{stamp} [{client_id}] {message}\n")
        if client_id is not None:
            per_client.setdefault(client_id, []).append(f"{stamp} {message}\n")
    with open_append(logs / "facturier.log") as fh:
        fh.write("".join(main).encode())
    for client_id, client_lines in per_client.items():
        with open_append(logs / f"{client_id}.log") as fh:
            fh.write("".join(client_lines).encode())


def purge_logs(root: Path, older_than_days: int, now: float | None = None) -> list[Path]:
    """Delete *.log files under data/logs/ last modified more than N days before `now`
    (a POSIX timestamp; default: the current time)."""
    import time

    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    logs = WorkspacePaths(root).logs
    removed = []
    for path in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            removed.append(path)
    return removed
