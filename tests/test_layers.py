"""Layers run one way (STYLE.md): `core` and `config` never import the layers above them.

Every module's imports are read with `ast`, lazy ones inside functions, type-only ones and
relative ones included, and so are `importlib.import_module("facturier....")` calls: a
layer that reaches up only at run time, or only on one path, is still caught.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "facturier"
UPPER = ("render", "store", "adapters", "ops", "cli")
# What each lower layer must not import; `fonts` (the glyphs both config and render use)
# sits beside core, so it may import core only.
FORBIDDEN = {"core": (*UPPER, "config", "fonts"), "config": UPPER, "fonts": (*UPPER, "config")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in a module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def _layer_files(layer: str) -> list[Path]:
    single = PACKAGE / f"{layer}.py"
    return [single] if single.exists() else sorted((PACKAGE / layer).rglob("*.py"))


def _violations(layer: str) -> list[str]:
    found = []
    for path in _layer_files(layer):
        for line, module in _imports(path):
            top = module.split(".")
            if top[0] == "facturier" and len(top) > 1 and top[1] in FORBIDDEN[layer]:
                found.append(f"{path.relative_to(PACKAGE)}:{line}: imports {module}")
    return sorted(set(found))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_an_upper_one(layer: str) -> None:
    assert _layer_files(layer), f"no module found for {layer}"
    assert _violations(layer) == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The walk itself must be able to fail: a lazy import inside a function, a relative one and
    # an import_module call are all reported.
    fake = tmp_path / "facturier" / "config"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "fields.py").write_text(
        "import importlib\n\ndef check():\n    from facturier.render.glyphs import x\n"
        "    from ..store import journal\n    importlib.import_module('facturier.ops.views')\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", tmp_path / "facturier")
    assert _violations("config") == [
        "config/fields.py:4: imports facturier.render.glyphs",
        "config/fields.py:4: imports facturier.render.glyphs.x",
        "config/fields.py:5: imports facturier.store",
        "config/fields.py:5: imports facturier.store.journal",
        "config/fields.py:6: imports facturier.ops.views",
    ]
