"""Turn pydantic validation errors into user-facing problems: `file: key path: message`.

Users edit TOML, not Python: a problem names the file, the key as they would write it
(`lines[0].unit_price`) and says what is wrong in plain English, without pydantic jargon.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import date, time
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from facturier.config.fields import check_visible

FILE_KEY = "(file)"

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def format_problem(file: str, key: str, message: str) -> str:
    """The one problem format: `<relative file path>: <key path>: <message>`."""
    return f"{file}: {key or FILE_KEY}: {message}"


def key_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a TOML key path: ('lines', 0, 'price') -> lines[0].price."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def show_value(value: Any) -> str:
    """A short TOML-like rendering of a user value for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (date, time)):
        return value.isoformat()  # TOML dates and times, shown as the user wrote them
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_error(error: ErrorDetails) -> str:
    """Plain-English message for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {show_value(value)}"
    if kind == "literal_error":
        return f"unsupported value {show_value(value)}; expected {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _bound_message(kind, ctx, value)
    if kind in ("too_short", "too_long"):
        return f"has {ctx.get('actual_length')} items, expected at least {ctx.get('min_length')}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error.get("msg", "invalid value"))


def _bound_message(kind: str, ctx: dict[str, Any], value: Any) -> str:
    """Message for a numeric bound violation."""
    words = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    phrase, key = words[kind]
    return f"must be {phrase} {ctx.get(key)}, got {show_value(value)}"


def top_level_keys(model: type[BaseModel]) -> set[str]:
    """The keys a model accepts at the top of its file (aliases included)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def misplaced_key_hint(loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    """A hint for the classic TOML slip: a top-level key written after a [table] header."""
    if model is None or len(loc) < 2 or loc[-1] not in top_level_keys(model):
        return ""
    return f"; {loc[-1]} is a top-level key: write it above the first [table] header"


# Keys that hold a secret: never accepted in a file that may be committed (PRODUCT §1).
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey")


def unknown_key_hint(loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    """For an unknown key: where a secret goes instead, or the known key it looks like (a typo)."""
    name = str(loc[-1]) if loc else ""
    known = sorted(_keys_at(model, loc[:-1]))
    secret_keys = [k for k in known if k.endswith(("_env", "_file")) and any(w in k for w in _SECRET_WORDS)]
    if any(word in name.lower() for word in _SECRET_WORDS) and secret_keys:
        return (f"; secrets are never written in the configuration: name an environment variable or a "
                f"0600 file with {' or '.join(secret_keys)}")
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def _keys_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> set[str]:
    """The keys the table at `loc` accepts (list indexes skipped), or none when unknown."""
    for part in loc:
        if model is None:
            return set()
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        model = None if field is None else _model_in(field.annotation)
    return set() if model is None else top_level_keys(model)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The configuration model a field holds, through Optional, lists, tuples and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def problems_from_error(
    file: str, exc: ValidationError, model: type[BaseModel] | None = None,
    reported: AbstractSet[str] = frozenset(),
) -> list[str]:
    """Every error of a ValidationError as problems, in key order, without duplicates.

    `reported` holds key paths already reported (invisible characters): errors about them,
    or about the list or table holding them, would only repeat the same problem.
    """
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if covered_by(key_path(loc), reported):
            continue
        message = describe_error(error)
        if error["type"] == "extra_forbidden":
            message += misplaced_key_hint(loc, model) or unknown_key_hint(loc, model)
        problem = format_problem(file, key_path(loc), message)
        if problem not in problems:
            problems.append(problem)
    return problems


def _strings(value: Any, loc: tuple[int | str, ...] = ()) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Every string value of parsed TOML with its location, tables and lists included."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


# The one value where a control character is meant: bank statements exported as TSV.
_ALLOWED_CONTROLS = {"bank.csv.delimiter": "\t"}


def invisible_text_problems(file: str, data: dict[str, Any]) -> dict[str, str]:
    """Key path -> problem for every string holding control or format characters.

    Checked on the raw TOML, before the models, so that no text key (present or future) can
    let a line break or a bidi override through; an address is a list, so no value needs one.
    """
    found: dict[str, str] = {}
    for loc, text in _strings(data):
        if _ALLOWED_CONTROLS.get(key_path(loc)) == text:
            continue
        try:
            check_visible(text)
        except ValueError as exc:
            key = key_path(loc)
            found[key] = format_problem(file, key, str(exc))
    return found


def covered_by(problem_key: str, invisible_keys: AbstractSet[str]) -> bool:
    """True when a model problem is about a value already reported for invisible characters."""
    return any(key == problem_key or key.startswith((problem_key + "[", problem_key + "."))
               for key in invisible_keys)
