"""Gapless numbering: templates, series and the next number.

A template such as "{year}-{seq:04d}" names a series by everything except `{seq}`: "2026-#"
is one series with one counter, and a new year starts a new series (so the counter resets).
Test-mode documents live in their own series, prefixed "TEST-". Numbers are allocated only at
issuance, under the workspace lock, from the journal: the next number is last seq + 1.

A number is also a file name (`<number>.pdf`, `<number>.json`, a ZIP entry), so it must be
one safe file name on every system: see `number_problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from facturier.core.errors import FacturierError

# Letters, digits, "_", "-" and "." (never first, last or doubled): no path separator,
# no "..", no hidden file, nothing a file system or a ZIP tool reads specially.
NUMBER_CHARS_TEXT = "letters A-Z a-z, digits 0-9, _ and -, and . between two of them"
_SAFE_NUMBER = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
# Short enough that "<number>.errors.txt"-like names stay far below the 255-byte limit.
MAX_NUMBER_LENGTH = 100
_PLACEHOLDER = re.compile(r"\{(year|month|client|seq(?::0([1-9])d)?)\}")


@dataclass(frozen=True, slots=True)
class SeriesState:
    """Where a series stands: its last sequence number and the date of that document."""

    last_seq: int
    last_date: date


def _render(template: str, *, year: int, month: int, client: str, seq_text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "year":
            return f"{year:04d}"
        if name == "month":
            return f"{month:02d}"
        if name == "client":
            return client
        return seq_text

    return _PLACEHOLDER.sub(replace, template)


def series_key(template: str, *, seller: str, issue_date: date, client: str, test: bool) -> str:
    """The series a document belongs to: seller, then the template rendered with '#' for seq."""
    text = _render(template, year=issue_date.year, month=issue_date.month, client=client, seq_text="#")
    return f"{seller}|{'TEST-' if test else ''}{text}"


def number_problem(number: str) -> str | None:
    """Why `number` cannot be a document number (a single safe file name), or None."""
    if len(number) > MAX_NUMBER_LENGTH:
        return f"{number[:40]!r}... is {len(number)} characters long, at most {MAX_NUMBER_LENGTH}"
    if not _SAFE_NUMBER.fullmatch(number):
        return f"{number!r} is not a safe file name: a number may use only {NUMBER_CHARS_TEXT}"
    return None


def render_number(template: str, *, issue_date: date, client: str, seq: int, test: bool) -> str:
    """The number a template gives for a sequence value, not yet checked (see format_number)."""
    match = re.search(r"\{seq(?::0([1-9])d)?\}", template)
    width = int(match.group(1)) if match and match.group(1) else 1
    text = _render(
        template, year=issue_date.year, month=issue_date.month, client=client, seq_text=f"{seq:0{width}d}"
    )
    return f"TEST-{text}" if test else text


def format_number(template: str, *, issue_date: date, client: str, seq: int, test: bool) -> str:
    """Render the document number for a sequence value; refuse one that is not a safe file name.

    `check` refuses such templates already; this second check keeps any path that bypasses
    the configuration (a hand-built workspace, a future caller) from writing outside a folder.
    """
    number = render_number(template, issue_date=issue_date, client=client, seq=seq, test=test)
    problem = number_problem(number)
    if problem:
        raise FacturierError(f"numbering template {template!r} gives an unsafe number: {problem}")
    return number


def next_seq(state: SeriesState | None, issue_date: date, series: str) -> int:
    """The next sequence of a series; refuses a date before the series' last document."""
    if state is None:
        return 1
    if issue_date < state.last_date:
        raise FacturierError(
            f"cannot issue in series {series.split('|', 1)[1]!r} on {issue_date}: its last document "
            f"is dated {state.last_date}, and numbers must follow dates"
        )
    return state.last_seq + 1


# Sequence values whose renderings cover every width a template can print (1 to 10 digits).
_MAX_SAMPLED_CLIENTS = 50
_SAMPLE_SEQS = (1, 9, *(10 ** k for k in range(1, 10)), *(10 ** k - 1 for k in range(2, 11)))


@lru_cache(maxsize=64)  # a workspace's templates are compared pairwise: each compiled once
def _pattern(template: str, clients: tuple[str, ...]) -> re.Pattern[str]:
    """Every number `template` can give for these `{client}` values, as a regular expression."""
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        name, width = match.group(1), match.group(2)
        if name == "year":
            parts.append("[0-9]{4}")
        elif name == "month":
            parts.append("(?:0[1-9]|1[0-2])")
        elif name == "client":
            parts.append("(?:" + "|".join(re.escape(c) for c in clients) + ")" if clients else "(?!)")
        else:
            parts.append(f"[0-9]{{{width or 1},}}")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def shared_number(a: str, a_clients: tuple[str, ...], b: str, b_clients: tuple[str, ...]) -> str | None:
    """A number both templates can give (each with its own `{client}` values), or None.

    Two sellers' series are separate counters, so such a number may be issued twice, once by
    each, and a command given only the number cannot tell the two documents apart.
    """
    for first, first_clients, other, other_clients in ((a, a_clients, b, b_clients), (b, b_clients, a, a_clients)):
        pattern = _pattern(other, other_clients)
        # Each client's numbers against the other template; beyond a few hundred clients, a sample
        # (check stays quick; the other direction still tries every client through the regex).
        for client in first_clients[:_MAX_SAMPLED_CLIENTS] or ("",):
            for seq in _SAMPLE_SEQS:
                number = render_number(first, issue_date=date(2026, 11, 1), client=client, seq=seq, test=False)
                if pattern.fullmatch(number):
                    return number
    return None
