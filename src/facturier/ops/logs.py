"""Human-readable execution logs under data/logs/ (deletable; the journal is the record)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path


def log(root: Path, message: str, client_id: str | None = None) -> None:
    """Append one timestamped line to facturier.log and, if given, to the client's log."""
    logs = root / "data" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp} {message}\n"
    with open(logs / "facturier.log", "a", encoding="utf-8") as fh:
        fh.write(line if client_id is None else f"{stamp} [{client_id}] {message}\n")
    if client_id is not None:
        with open(logs / f"{client_id}.log", "a", encoding="utf-8") as fh:
            fh.write(line)


def purge_logs(root: Path, older_than_days: int) -> list[Path]:
    """Delete *.log files under data/logs/ last modified more than N days ago."""
    import time

    cutoff = time.time() - older_than_days * 86400
    logs = root / "data" / "logs"
    removed = []
    for path in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            removed.append(path)
    return removed
