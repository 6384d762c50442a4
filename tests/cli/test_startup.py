"""Start-up (issue 23): a command imports and builds only itself, and plain option values skip
Typer's pydantic adapters, with every help text, usage error and exit code as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._coercion import build_runtime_param

from facturier.cli.coercion import PlainValues
from facturier.cli.registry import COMMAND_MODULES
from tests.conftest import run_cli

# What a fresh process has imported once the command ran: a script, not run_cli, since the
# test process has imported every module long before.
MODULES_AFTER = """
import json, sys
from facturier.cli.app import main
sys.argv = ["facturier", *sys.argv[1:]]
try:
    main()
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_after(ws: Path, *args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", MODULES_AFTER, "--workspace", str(ws), *args],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "FACTURIER_TODAY": "2026-11-30"})
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_a_command_imports_its_own_module_only_and_no_pydantic_adapter(ws: Path) -> None:
    assert run_cli(ws, "run", env={"FACTURIER_TODAY": "2026-11-30"}).code == 0
    for args, own in ((["balances"], "payments"), (["invoices"], "commands"),
                      (["pay", "acme", "10.00", "--date", "2026-11-30"], "payments")):
        loaded = modules_after(ws, *args)
        cli = {m.removeprefix("facturier.cli.") for m in loaded if m.startswith("facturier.cli.")}
        assert cli <= {own, "app", "common", "coercion", "registry", "exports"}, (args, cli)
        assert "facturier.cli.batch" not in loaded
        assert "typer._adapters" not in loaded  # no per-option TypeAdapter built
        assert "stdnum" not in loaded  # the configuration came from the cache, unvalidated
        if own == "payments":  # nor were the modules only its validators use imported
            assert not {"facturier.core.dunning", "facturier.core.pricing",
                        "facturier.core.invoice"} & loaded, args


def test_the_registry_names_every_command_in_the_order_of_help() -> None:
    import importlib

    from typer.main import get_command_name

    from facturier.cli.common import app

    for module in sorted({m for mods in COMMAND_MODULES.values() for m in mods}):
        importlib.import_module(f"facturier.cli.{module}")
    registered = [info.name or get_command_name(info.callback.__name__)  # type: ignore[union-attr]
                  for info in app.registered_commands]
    registered += [group.name for group in app.registered_groups]
    assert sorted(registered) == sorted(COMMAND_MODULES)  # type: ignore[type-var]
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert group.list_commands(typer.Context(group)) == list(COMMAND_MODULES)


def test_help_lists_every_command_and_a_typo_gets_a_suggestion(ws: Path) -> None:
    result = run_cli(ws, "--help")
    assert result.code == 0
    for name in COMMAND_MODULES:
        assert f" {name} " in result.out
    typo = run_cli(ws, "pya")
    assert typo.code == 2
    assert "No such command 'pya'. Did you mean 'pay'?" in typo.err
    assert run_cli(ws, "nosuch").code == 2
    assert "Did you mean 'list'?" in run_cli(ws, "usage", "lst").err


def _coerced(param: Any, value: Any, runtime: Any) -> tuple[str, Any]:
    try:
        return "ok", runtime.coerce(value, param=param, ctx=None)
    except Exception as exc:  # noqa: BLE001  # the error itself is compared
        return type(exc).__name__, str(exc)


INTS = ["7", "07", "0", "2026", " 2026", "+2026", "-1", "2_026", "2026.0", "abc", "", "1" * 25, "٣", 300, 0]
PATHS = ["demo", "demo/", "", ".", "./x/../y", "nofile.csv", "a\x00b"]


@pytest.mark.parametrize("minimum,maximum", [(None, None), (1, None), (10, None), (0, 65535), (1900, 2999)])
def test_ints_are_typers_own(minimum: int | None, maximum: int | None) -> None:
    option = typer.core.TyperOption(param_decls=["--n"], type_descriptor=_descriptor(int, min=minimum, max=maximum))
    for value in INTS:
        typers = _coerced(option, value, build_runtime_param(option.type_descriptor))
        assert _coerced(option, value, PlainValues(option.type_descriptor)) == typers, value


@pytest.mark.parametrize("checks", [{}, {"exists": True, "dir_okay": False}, {"dir_okay": False},
                                    {"file_okay": False}])
def test_paths_are_typers_own(tmp_path: Path, checks: dict[str, bool], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    (tmp_path / "file.csv").write_text("x")
    option = typer.core.TyperOption(param_decls=["--p"], type_descriptor=_descriptor(Path, **checks))
    for value in [*PATHS, "file.csv", "file.csv/.", Path("demo")]:
        typers = _coerced(option, value, build_runtime_param(option.type_descriptor))
        assert _coerced(option, value, PlainValues(option.type_descriptor)) == typers, value


def test_strings_are_kept_as_they_are() -> None:
    option = typer.core.TyperOption(param_decls=["--s"], type_descriptor=_descriptor(str))
    for value in ["", " a ", "\udcff", "é\t\n", "-5"]:
        assert PlainValues(option.type_descriptor).coerce(value, param=option, ctx=None) == value
        assert build_runtime_param(option.type_descriptor).coerce(value, param=option, ctx=None) == value


def _descriptor(annotation: Any, **info: Any) -> Any:
    from typer._coercion import resolve_type_descriptor
    from typer.models import OptionInfo

    return resolve_type_descriptor(annotation, OptionInfo(**info))


def test_a_group_completed_by_a_second_module_has_every_command_whatever_was_imported_first() -> None:
    """`export` is registered by cli/exports.py and completed by cli/reports.py (`fec`): a process
    that imported the first (as `payments` does) before building the app still gets all of it."""
    script = ("import facturier.cli.exports\n"
              "from typer.testing import CliRunner\n"
              "from facturier.cli.common import app\n"
              "print(CliRunner().invoke(app, ['export', '--help']).output)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert " fec " in proc.stdout and " revenues " in proc.stdout, proc.stdout
