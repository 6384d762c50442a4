"""What RFC 4180 refuses and Python's `csv.reader` lets through, for every CSV input.

The reader (even `strict=True`) takes a double quote inside a field that is not enclosed in
quotes (`Pain 12"`) as text, and a carriage return alone (old Mac files) as a line end. Its
fields cannot tell `a"b` from `"a""b"` any more, so the check reads a record's physical lines,
which `KeptLines` keeps for it while the reader reads them. Pure: no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from facturier.core.text import FileProblem

MID_QUOTE = ("a double quote inside a field that is not enclosed in double quotes: enclose the whole "
             "field in double quotes and double the quote inside (\"Dupont \"\"& Fils\"\"\")")
LONE_CR = ("the line ends with a lone carriage return (CR, an old Mac line end): save the file with "
           "LF or CRLF line ends")


class KeptLines:
    """Lines as `csv.reader` takes them from `lines`, kept until the record that spans them is
    checked (`take`)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.kept: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.kept.append(line)
        return line

    def take(self) -> list[str]:
        """The lines read since the last call."""
        kept, self.kept = self.kept, []
        return kept


def record_syntax_problems(name: str, start: int, lines: list[str], delimiter: str,
                           header: list[str]) -> list[FileProblem]:
    """The problems of one record whose physical lines are `lines`, the first at line `start`:
    a bare double quote (at the line and column where it stands) and a lone CR line end."""
    if len(lines) == 1 and '"' not in lines[0] and not lines[0].endswith("\r"):
        return []  # the common row: nothing to look at
    found: dict[tuple[int, str, str], None] = {}
    field, at_start, quoted = 0, True, False
    for offset, line in enumerate(lines):
        i = 0
        while i < len(line):
            char = line[i]
            if quoted:
                if char == '"' and line[i + 1:i + 2] == '"':
                    i += 1  # a doubled quote inside a quoted field
                elif char == '"':
                    quoted = False
            elif char == '"' and at_start:
                quoted = True
            elif char == '"':
                found[(start + offset, header[field] if field < len(header) else "-", MID_QUOTE)] = None
            at_start = char == delimiter and not quoted
            field += at_start
            i += 1
        if not quoted and line.endswith("\r"):
            found[(start + offset, "-", LONE_CR)] = None
    return [FileProblem(name, at, column, message) for at, column, message in found]
