"""Entry point: runs the app and turns FacturierError (and OSError) into exit code 1.

The command modules are not imported here: the app imports the one of the command it runs
(`cli/registry.py`).
"""

from __future__ import annotations

import sqlite3
import sys

from facturier.cli.common import app, err_console
from facturier.core.errors import ConfigError, FacturierError
from facturier.core.text import printable, printable_lines
from facturier.store import notices


def main() -> None:
    """Run the CLI: 0 success, 1 blocking problem, 2 usage error (from Click)."""
    notices.sink = lambda message: err_console.print(f"note: {message}", markup=False, highlight=False)
    try:
        app()
    except ConfigError as exc:
        err_console.print("Error: invalid workspace configuration:", markup=False, highlight=False)
        for problem in exc.problems:
            err_console.print(f"  {printable_lines(problem)}", markup=False, highlight=False)
        sys.exit(1)
    except FacturierError as exc:
        err_console.print(f"Error: {printable_lines(str(exc))}", markup=False, highlight=False)
        sys.exit(1)
    except sqlite3.DatabaseError as exc:
        err_console.print(f"Error: {state_error(exc)}", markup=False, highlight=False)
        sys.exit(1)
    except OSError as exc:
        # A file the workspace needs is unreadable, missing or a directory: name it, no traceback.
        # A rename (the last step of every atomic write) names its temp file first: the file
        # meant is its destination, `filename2` (a folder or a read-only place where it should be).
        name = exc.filename2 or exc.filename
        where = f"{printable(str(name))}: " if name else ""
        err_console.print(f"Error: {where}{exc.strerror or exc}", markup=False, highlight=False)
        sys.exit(1)


def state_error(exc: sqlite3.DatabaseError) -> str:
    """What a failure of the state file met in mid-command means (a damaged page is found only when
    a query reaches it), and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"data/state.sqlite: {text} (another facturier process holds it); try again"
    return (f"data/state.sqlite: {text}: the ledger state is damaged; 'facturier rebuild' rebuilds it from "
            "the journal (nothing is lost: the journal is the record)")


if __name__ == "__main__":
    main()
