"""Option values that need no pydantic: a string kept as it is, digits read as an int, a path.

Typer 0.29 turns every option's value into its annotated type through a pydantic
`TypeAdapter` built for that option when the command runs: a schema generated and a
validator compiled per option, and `typer._adapters` imported (which loads pydantic's plugin
machinery and `importlib.metadata`): ~0.04 G instructions of `balances`, more for a command
with more options. For the values the commands here take, the result is known without it:
a `str` stays the same string, ASCII digits are that `int`, a `Path` is `Path(value)`. Those
are returned as they are (`plain_value`); anything else (a sign, a space, a value out of
range, a path that fails its checks, a list) goes to Typer's own coercion, so every error
message and every accepted spelling (`+7`, `2_026`, `7.0`) stays Typer's.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Final

_NOT_PLAIN: Final = object()


def quicken(param: Any) -> None:
    """Give a Typer parameter the shortcut below, when it is a Typer 0.29+ parameter (others
    keep their own coercion: an older Typer converts with Click's types)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(param, "_runtime_param", False) is None:
        param._runtime_param = PlainValues(descriptor)


class PlainValues:
    """Typer's `RuntimeParam` interface (`coerce`), for one parameter: plain values here,
    the rest through the `RuntimeParam` Typer builds (once, when first needed)."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """The value for the command function, or Typer's BadParameter."""
        if value is None and not (param.multiple or param.nargs == -1):
            return None
        plain = plain_value(self.descriptor.annotation, self.descriptor.parameter_info, value)
        if plain is not _NOT_PLAIN:
            return plain
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)


def plain_value(annotation: Any, info: Any, value: Any) -> Any:
    """What Typer's coercion gives for `value`, when that is plain; else `_NOT_PLAIN`."""
    if info.parser is not None:
        return _NOT_PLAIN
    if (annotation is str and type(value) is str) or (annotation is bool and type(value) is bool):
        return value
    if annotation is int:
        return _plain_int(info, value)
    if annotation is Path and info.path_type is None and not info.resolve_path and not info.allow_dash:
        if type(value) is str:
            value = Path(value)  # what pydantic's Path does with a string
        if isinstance(value, Path) and _path_passes(value, info):
            return value
    return _NOT_PLAIN


def _plain_int(info: Any, value: Any) -> Any:
    """An int given as ASCII digits (or as an int: a default), within min and max."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    if type(value) is not int or info.clamp:
        return _NOT_PLAIN
    if (info.min is not None and value < info.min) or (info.max is not None and value > info.max):
        return _NOT_PLAIN
    return value


def _path_passes(path: Path, info: Any) -> bool:
    """Whether `path` passes the checks Typer makes (`typer._param_types.coerce_cli_path`):
    exists, file or directory, readable, writable. A path that fails one goes to Typer, which
    says why in its own words."""
    try:
        st = os.stat(path)
    except OSError:
        return not info.exists
    except ValueError:  # an embedded NUL: Typer's error
        return False
    if (not info.file_okay and stat.S_ISREG(st.st_mode)) or (not info.dir_okay and stat.S_ISDIR(st.st_mode)):
        return False
    if info.readable and not os.access(path, os.R_OK):
        return False
    return not (info.writable and not os.access(path, os.W_OK))
