"""Tables on a terminal that never cut a number (issue 26, item 5).

Every listing of the CLI goes through `print_table`. Its columns are of two kinds:

- **whole** columns (invoice numbers, amounts, dates, statuses, counts: every column not
  known as text) are never cut: each gets at least the width of its longest value (of the
  longest item of a list like `2026-0001, 2026-0002`, which then wraps between items);
- **text** columns (names, subjects, emails, file names, details: `TEXT_COLUMNS`, or any
  column whose values hold spaces) share what is left, wrapped at spaces and folded inside
  a long word, each keeping at least `TEXT_MIN` characters.

When even that does not fit the terminal, the rows are printed as labelled blocks
(`Invoice: 2026-0001`, one line per column, a blank line between rows). The widths are
computed here and given to Rich as fixed widths, so Rich never shrinks a column itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Columns that hold prose or long identifiers: wrapped or folded when space is short.
TEXT_COLUMNS = frozenset({
    "client", "name", "email", "to", "subject", "text", "description", "detail", "customer", "reference",
    "draft", "message_id", "file", "metric", "store", "result", "kind", "seller", "item", "type", "sha256",
    "id", "refers_to_name", "reason",
})
# Whole columns whose values are words, not numbers: never treated as text.
WHOLE_WORDS = frozenset({"status"})
TEXT_MIN = 10
RIGHT = ("total", "amount", "balance", "allocated", "unallocated", "paid", "credited", "invoiced")
_LIST_SEPARATOR = ", "
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Layout:
    """The content width of each column (padding and borders aside), or None: print blocks."""

    widths: tuple[int, ...] | None


# From the most readable layout to the most compact: whole lists on one line, full headers
# and text columns of TEXT_MIN; then one list item per line; narrower text; headers folded.
ATTEMPTS = ((True, None, TEXT_MIN), (False, None, TEXT_MIN), (False, None, 6), (False, 4, 6))


def table_layout(columns: Sequence[str], cells: Sequence[Sequence[str]], width: int) -> Layout:
    """Widths that show every whole value uncut within `width` terminal columns, if any do."""
    chrome = 3 * len(columns) + 1  # a border before each column and after the last, one space each side
    budget = width - chrome
    whole = [is_whole(name, [row[i] for row in cells]) for i, name in enumerate(columns)]
    for spread, header_cap, text_min in ATTEMPTS:
        fixed = {i: whole_width(name, [row[i] for row in cells], spread, header_cap)
                 for i, name in enumerate(columns) if whole[i]}
        natural = {i: max([cell_len(row[i]) for row in cells] + [header_word(name)])
                   for i, name in enumerate(columns) if not whole[i]}
        left = budget - sum(fixed.values())
        floors = {i: min(n, text_min) for i, n in natural.items()}
        if left >= sum(floors.values()):
            shared = water_fill(left, natural)
            widths = [fixed[i] if i in fixed else max(shared[i], floors[i]) for i in range(len(columns))]
            return Layout(tuple(widen_headers(columns, widths, budget - sum(widths))))
    return Layout(None)


def widen_headers(columns: Sequence[str], widths: list[int], spare: int) -> list[int]:
    """Spend what is left on the columns whose header would fold, the cheapest first."""
    needs = sorted((header_word(name) - widths[i], i) for i, name in enumerate(columns)
                   if header_word(name) > widths[i])
    for extra, index in needs:
        if extra > spare:
            break
        widths[index] += extra
        spare -= extra
    return widths


def fold_header(name: str, width: int) -> str:
    """A header's words on lines of `width`, a long word broken after a `-` where it can be
    (`31-60` -> `31-` / `60`), else folded."""
    lines: list[str] = []
    for word in header_label(name).split():
        while cell_len(word) > width:
            cut = word.rfind("-", 0, width) + 1 or width
            lines.append(word[:cut])
            word = word[cut:]
        if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width and not lines[-1].endswith("-"):
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def is_whole(name: str, values: Sequence[str]) -> bool:
    """A column never cut: any column but text (known names, or values with spaces in them)."""
    if name in WHOLE_WORDS:
        return True
    if name in TEXT_COLUMNS:
        return False
    return not any(_SPACE.search(part) for value in values for part in value.split(_LIST_SEPARATOR))


def whole_width(name: str, values: Sequence[str], spread: bool, header_cap: int | None = None) -> int:
    """The width a whole column needs: its longest value (`spread`), or its longest list item;
    and its header's longest word, or no more than `header_cap` of it (the header then folds)."""
    if spread:
        longest = max((cell_len(v) for v in values), default=0)
    else:
        longest = max((cell_len(part) + (1 if index < len(parts) - 1 else 0)
                       for v in values for parts in [v.split(_LIST_SEPARATOR)]
                       for index, part in enumerate(parts)), default=0)
    header = header_word(name) if header_cap is None else min(header_word(name), header_cap)
    return max(longest, header, 1)


def header_word(name: str) -> int:
    """The width of a header's longest word (headers wrap at spaces and underscores)."""
    return max((cell_len(w) for w in header_label(name).split()), default=1)


def header_label(name: str) -> str:
    """A column's name as a header: `days_overdue` -> `days overdue` (so it can wrap)."""
    return name.replace("_", " ")


def water_fill(budget: int, natural: dict[int, int]) -> dict[int, int]:
    """Share `budget` among columns wanting `natural` widths: the narrow ones get all they
    want, the widest are cut to one common level (the most each can have)."""
    shares: dict[int, int] = {}
    pending = sorted(natural.items(), key=lambda item: item[1])
    left = budget
    while pending:
        level = left // len(pending)
        index, want = pending[0]
        if want <= level:
            shares[index] = want
            left -= want
            pending.pop(0)
            continue
        for position, (index, _) in enumerate(pending):
            shares[index] = level + (1 if position < left - level * len(pending) else 0)
        break
    return shares


def print_table(console: Console, title: str, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    """The rows as a table fitted to the console's width, or as labelled blocks."""
    layout = table_layout(columns, cells, console.width)
    if layout.widths is None:
        print_blocks(console, title, columns, cells)
        return
    # The title is text, never markup (a file name can hold brackets), and not wrapped.
    table = Table(title=Text(title), min_width=min(cell_len(title), console.width))
    for name, width in zip(columns, layout.widths, strict=True):
        right = name.startswith(RIGHT) or name in RIGHT
        table.add_column(Text(fold_header(name, width), overflow="fold"), width=width, overflow="fold",
                         justify="right" if right else "left")
    for row in cells:
        table.add_row(*(Text(value, overflow="fold") for value in row))
    console.print(table, soft_wrap=False)


def print_blocks(console: Console, title: str, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    """One block per row, one `Label: value` line per column, a blank line between rows."""
    console.print(Text(title, style="italic"), soft_wrap=False)
    labels = [block_label(name) for name in columns]
    for row in cells:
        console.print()
        for label, value in zip(labels, row, strict=True):
            console.print(Text.assemble((f"{label}: ", "bold"), value), soft_wrap=False, overflow="fold")


# Column-name words that are acronyms: a block reads `DSO: 90.0`, `Total incl VAT: 827.88`.
ACRONYMS = {"dso": "DSO", "vat": "VAT", "id": "ID", "iban": "IBAN", "bic": "BIC", "url": "URL", "pdf": "PDF"}


def block_label(name: str) -> str:
    """`days_overdue` -> `Days overdue`, `dso` -> `DSO`."""
    label = " ".join(ACRONYMS.get(word, word) for word in header_label(name).split(" "))
    return label[:1].upper() + label[1:]
