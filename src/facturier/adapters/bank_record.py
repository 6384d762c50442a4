"""The record every bank parser returns: one credit of a statement, whatever its format,
and the collector that lets a parser name every bad line of a file at once.

It lives in its own module so that the parsers and the registry in `bank.py` both import it
and never each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from facturier.core.errors import InputError


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One credit on a statement, or one returned transfer (`returned`).

    Fields: `date` (booking date, else value date), `amount` (positive, checked by
    `core.money.received_amount`), `currency` (None when the file does not say, as in CSV),
    `text` (remittance information, the words matching reads), `bank_id` (the bank's own
    reference of the transaction, None when it gives none), `counterparty` (the payer's
    name, "" when unknown) and `where` (where it sits in the file, for messages, as the
    parser's own messages say it: `CSV statement line 12`, `CAMT entry 3 (REF)`).

    `returned` marks a credit the bank took back (a return or reversal: CAMT DBIT with
    `RvslInd` or a return code, MT940 mark `RC`), its `amount` positive too; `refs` are the
    references of the original credit the statement quotes (end-to-end id, its bank reference).
    import-bank records nothing for it and warns instead.
    """

    date: date
    amount: Decimal
    currency: str | None
    text: str
    bank_id: str | None
    counterparty: str
    where: str = ""
    returned: bool = False
    refs: tuple[str, ...] = ()


MAX_PROBLEMS = 100  # as a batch CSV's .errors.txt: enough to fix a file in one pass


class StatementProblems(InputError):
    """Every refused line of a statement (the first MAX_PROBLEMS kept, all counted).

    `found` holds the credits read without a problem, so that later checks (dates, decimals)
    can add theirs to the same list. One problem reads exactly as a single error always did.
    """

    def __init__(self, problems: list[str], count: int, found: tuple[BankTransaction, ...] = ()) -> None:
        self.problems, self.count, self.found = tuple(problems), count, found
        super().__init__(problems[0] if count == 1 else self.summary() + "\n" + "\n".join(problems))

    def summary(self) -> str:
        """`3 problems, nothing imported` (with how many are listed when some are left out)."""
        shown = "" if self.count <= len(self.problems) else f" (the first {len(self.problems)} listed)"
        return f"{self.count} problems, nothing imported{shown}:"


class ProblemCollector:
    """Collects the InputError of each line (`with problems.line(): ...`) instead of stopping at
    the first, then raises them all at once (`check`)."""

    def __init__(self, earlier: StatementProblems | None = None) -> None:
        self.problems: list[str] = list(earlier.problems) if earlier else []
        self.count = earlier.count if earlier else 0

    def add(self, message: str) -> None:
        """Count one problem (kept while fewer than MAX_PROBLEMS are)."""
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    @contextmanager
    def line(self) -> Iterator[None]:
        """Run one line's reading; its InputError is kept and the next line is read."""
        try:
            yield
        except StatementProblems as exc:
            for message in exc.problems:
                self.add(message)
            self.count += exc.count - len(exc.problems)
        except InputError as exc:
            self.add(str(exc))

    def check(self, found: list[BankTransaction] | None = None) -> None:
        """Raise StatementProblems when any line was refused."""
        if self.count:
            raise StatementProblems(self.problems, self.count, tuple(found or ()))
