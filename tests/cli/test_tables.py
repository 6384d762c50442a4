"""Tables that never cut a number (issue 26, item 5): every command's table on a terminal of
60, 80, 100 and 200 columns shows each invoice number, amount, date and status whole (as
`--json` gives it), text columns wrap first, and rows become labelled blocks when even that
does not fit; `--help` shows flags without a `<bool>` placeholder."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from facturier.cli.tables import is_whole, print_table, table_layout
from tests.collections_workspace import base_workspace, clone, set_text
from tests.conftest import DEMO, run_cli

WIDTHS = (60, 80, 100, 200)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_NAME = "Établissements Dupont-Lajoie et Fils, négociants en vins fins depuis 1892"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def edit(ws: Path) -> None:
        set_text(ws, "clients/client0.toml", 'name = "Client 0"', f'name = "{LONG_NAME}"')

    ws = base_workspace(tmp_path_factory.mktemp("tables"), extra=2, edit=edit)
    shutil.copytree(DEMO / "data" / "inbox_batch", ws / "data" / "inbox_batch", dirs_exist_ok=True)
    assert run_cli(ws, "pay", "client1", "100.00", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "remind", "--date", "2026-12-22").code == 0
    return ws


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    return clone(base, tmp_path / "ws")


def on_terminal(ws: Path, width: int, *args: str) -> str:
    """The command's output as a terminal of `width` columns shows it (styles removed)."""
    result = run_cli(ws, *args, env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": str(width)})
    assert result.code == 0, result.text
    assert "\t" not in result.out  # a table or blocks, not the piped form
    return ANSI.sub("", result.out)


def whole_values(rows: list[dict[str, Any]]) -> set[str]:
    """Every value of the rows' whole columns (numbers, amounts, dates, statuses), list items apart."""
    columns = list(rows[0])
    out = set()
    for name in columns:
        values = [str(row.get(name, "")) for row in rows]
        if is_whole(name, values):
            out |= {part for value in values for part in value.split(", ") if part}
    return out


def json_documents(text: str) -> list[dict[str, Any]]:
    """Every JSON document of an output, in order."""
    decoder, docs, index = json.JSONDecoder(), [], 0
    while index < len(text.rstrip()):
        doc, index = decoder.raw_decode(text, index)
        docs.append(doc)
        while index < len(text) and text[index].isspace():
            index += 1
    return docs


def assert_whole(text: str, values: set[str], width: int, notes: frozenset[str] | set[str] = frozenset()) -> None:
    lines = text.splitlines()
    # Notes are printed as lines, left for the terminal to wrap (a path stays whole to copy).
    table = [line for line in lines if line not in notes]
    assert all(len(line) <= width for line in table), [line for line in table if len(line) > width]
    words = {w for line in lines for w in re.split(r"[\s│┃,]+", line)}
    missing = {v for v in values if v not in words and not any(v in line for line in lines)}
    assert not missing, f"cut at {width} columns: {sorted(missing)}\n{text}"


LISTINGS = (
    ("remind", "--date", "2027-01-06", "--dry-run"),
    ("reminders",),
    ("balances", "--date", "2027-01-06"),
    ("invoices",),
    ("usage", "list"),
    ("batch", "--date", "2026-11-30", "--dry-run"),
    ("run", "--date", "2026-12-15", "--dry-run"),
    ("credit", "2026-0001", "--date", "2026-12-01", "--dry-run"),
    ("show", "2026-0001"),
)


@pytest.mark.parametrize("args", LISTINGS, ids=lambda a: a[0] + (" " + a[1] if a[0] == "usage" else ""))
def test_no_command_table_cuts_a_number_at_any_width(ws: Path, args: tuple[str, ...]) -> None:
    if args[0] == "usage":
        with (ws / "clients" / "acme.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[[lines]]\ndescription = "API calls"\nmetric = "api_calls"\nunit_price = "0.01"\n')
        assert run_cli(ws, "usage", "record", "acme", "api_calls", "123456789", "--date", "2026-12-01").code == 0
    docs = json_documents(run_cli(ws, *args, "--json").out)  # `run` prints two reports
    rows = docs[0]["events"] if args[0] == "show" else docs[0]["rows"]
    notes = {note for doc in docs for note in doc.get("notes", [])}
    assert rows, args
    values = whole_values(rows)
    assert values
    for width in WIDTHS:
        text = on_terminal(ws, width, *args)
        if args[0] == "show":  # the document's own lines first, then the table of its events
            text = text[text.index("Events"):]
        assert_whole(text, values, width, notes)


def test_pay_prints_its_allocation_whole_at_every_width(ws: Path) -> None:
    for index, width in enumerate(WIDTHS):
        amount = f"1{index}.25"
        text = on_terminal(ws, width, "pay", "client0", amount, "--date", "2026-11-2" + str(index + 1))
        assert_whole(text, {amount, f"2026-11-2{index + 1}", "EUR"}, width)


def test_text_wraps_first_then_rows_become_labelled_blocks(ws: Path) -> None:
    wide = on_terminal(ws, 200, "remind", "--date", "2027-01-06", "--dry-run")
    assert "┃ invoice" in wide and LONG_NAME not in wide  # a table; the client's id, not its name
    narrow = on_terminal(ws, 100, "remind", "--date", "2027-01-06", "--dry-run")
    assert "┃ invoice" in narrow and "Retard de paiement" not in narrow  # the subject wraps
    blocks = on_terminal(ws, 60, "remind", "--date", "2027-01-06", "--dry-run")
    assert "┃" not in blocks
    rows = json.loads(run_cli(ws, "remind", "--date", "2027-01-06", "--dry-run", "--json").out)["rows"]
    for row in rows:
        assert f"Invoice: {row['invoice']}\n" in blocks and f"Amount: {row['amount']}\n" in blocks
        assert f"Days overdue: {row['days_overdue']}\n" in blocks and f"Status: {row['status']}\n" in blocks
    piped = run_cli(ws, "remind", "--date", "2027-01-06", "--dry-run")  # piped: tab-separated, as before
    assert piped.out.splitlines()[1].split("\t")[:3] == ["invoice", "client", "email"]


def render(width: int, columns: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    print_table(Console(file=out, width=width, color_system=None), "T", columns, rows)
    return out.getvalue()


@pytest.mark.parametrize("width", [60, 61, 73, 80, 99, 100, 137, 200])
def test_any_width_keeps_numbers_whole_with_long_text_around_them(width: int) -> None:
    columns = ["number", "client", "date", "amount", "status", "subject"]
    rows = [[f"2027-{i:05d}", LONG_NAME[: 10 + 7 * i], f"2027-0{i + 1}-15", f"{1175 + i * 1000}.{i}5",
             "already in the store" if i % 2 else "drafted", "Relance " * i] for i in range(6)]
    text = render(width, columns, rows)
    values = {v for row in rows for v in (row[0], row[2], row[3])}
    assert_whole(text, values | {"drafted"}, width)
    if table_layout(columns, rows, width).widths is not None:
        assert all("already in the store" in line for line in text.splitlines() if "already" in line)


def test_a_list_of_numbers_wraps_between_numbers_never_inside_one() -> None:
    columns = ["invoice", "client", "amount"]
    rows = [["2026-0001, 2026-0002, 2026-0003, 2026-0004", "A client with a long name", "12345.67"]]
    text = render(40, columns, rows)
    assert_whole(text, {"2026-0001", "2026-0002", "2026-0003", "2026-0004", "12345.67"}, 40)


def all_commands() -> list[list[str]]:
    import typer

    from facturier.cli.app import app

    group = typer.main.get_command(app)
    out = [[]]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        out.append([name])
        out += [[name, sub] for sub in getattr(command, "commands", {})]
    return out


def test_help_shows_flags_without_a_bool_placeholder(tmp_path: Path) -> None:
    commands = all_commands()
    assert ["remind"] in commands and ["usage", "list"] in commands and ["export", "revenues"] in commands
    for command in commands:
        result = run_cli(tmp_path, *command, "--help")
        assert result.code == 0, (command, result.text)
        assert "<bool>" not in result.out, (command, result.out)
    remind = run_cli(tmp_path, "remind", "--help").out
    assert re.search(r"--dry-run\s+Show the reminders", remind) and "--date" in remind and "DATE" in remind


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéà&<>", min_size=1, max_size=12)
NUMBER = st.from_regex(r"(AV-)?20[0-9]{2}-[0-9]{4,6}|-?[0-9]{1,7}\.[0-9]{2}|20[0-9]{2}-[01][0-9]-[0-3][0-9]",
                       fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), width=st.integers(min_value=60, max_value=220))
def test_any_table_at_any_width_shows_every_number_whole(data: st.DataObject, width: int) -> None:
    whole_names = data.draw(st.lists(st.sampled_from(["number", "amount", "date", "total_incl_vat", "due_date",
                                                      "balance", "1-30", "days_overdue"]),
                                     min_size=1, max_size=7, unique=True))
    text_names = data.draw(st.lists(st.sampled_from(["client", "subject", "email", "detail", "name"]),
                                    max_size=4, unique=True))
    columns = data.draw(st.permutations(whole_names + text_names))
    rows = data.draw(st.lists(st.fixed_dictionaries({
        **{name: NUMBER for name in whole_names},
        **{name: st.lists(WORD, min_size=1, max_size=12).map(" ".join) for name in text_names}}),
        min_size=1, max_size=5))
    cells = [[row[name] for name in columns] for row in rows]
    assert_whole(render(width, columns, cells), {row[name] for row in rows for name in whole_names}, width)


def test_cells_and_titles_are_text_never_markup() -> None:
    text = render(80, ["number", "client"], [["2026-0001", "[bold red]Acme[/] [/oops]"]])
    assert "[bold red]Acme[/] [/oops]" in text
    out = io.StringIO()
    print_table(Console(file=out, width=80, color_system=None), "Usage import of [/x].csv", ["number"], [["1"]])
    assert "Usage import of [/x].csv" in out.getvalue()
