"""`check` of the template overrides: `templates/mail/` and `templates/reminders/`.

Each mail file that replaces a bundled template is parsed for merge fields its kind does not have
and rendered with sample fields, as a send would render it: a misspelt field stops `check`
today, not the invoice email on the send day. A file whose name no send ever asks for (a typo
such as `invoice.fr.text`, `reminders/en/stage_7.txt`) would be ignored without a word, so it
is a warning. (The reminder templates themselves are checked by render.reminders.check_templates.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import jinja2
import jinja2.meta

from facturier.ops.delivery.messages import BUNDLED, TemplateError, html_env, render, template_env
from facturier.render.reminders import LANGUAGES, OVERRIDE_DIR, template_name

_BATCH: Final[dict[str, Any]] = {
    "client_name": "Boulangerie Martin", "sender_name": "Palks Studio",
    "file_name": "boulangerie-martin-2026-11.zip", "month": "2026-11", "month_name": "November 2026", "part": 1,
}
# The fields each kind of message is rendered with (ops/delivery: messages, zips, alerts).
SAMPLE_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "invoice": {"number": "2026-0001", "seller_name": "Palks Studio", "client_name": "ACME SARL",
                "client_id": "acme", "issue_date": "15 November 2026", "due_date": "15 December 2026",
                "total": "€827.88", "currency": "EUR"},
    "batch_link": {**_BATCH, "url": "https://files.example.com/token/boulangerie-martin-2026-11.zip"},
    "batch_attach": _BATCH,
    "alerts": {"alerts": [{"title": "Batch files", "message": "a.csv rejected"}], "count": 1,
               "run_date": "15 November 2026"},
}


def mail_template_report(root: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the workspace's `templates/mail/`, as `check` prints them."""
    folder = root / "templates" / "mail"
    if not folder.is_dir() or folder.is_symlink():
        return [], []  # a linked folder is the templates folder check's to report
    env = template_env(root)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    problems: list[str] = []
    warnings: list[str] = []
    for path in files:
        shown = f"templates/mail/{path.name}"
        if not (BUNDLED / path.name).is_file():
            if not _included_by_another(path, files):
                warnings.append(f"{shown}: (file): no email uses this file, so it changes nothing; an override "
                                "is named like the bundled template it replaces: <kind>.<fr|en>.subject.txt, "
                                ".txt or .html, kind one of invoice, batch_link, batch_attach, alerts (docs/mail.md)")
            continue
        problem = _template_problem(env, path.name)
        if problem:
            problems.append(f"{shown}: (file): {problem}")
    return problems, warnings


def reminder_override_warnings(root: Path, stages: tuple[int, ...]) -> list[str]:
    """A file of `templates/reminders/` that no configured stage and language reads."""
    folder = root / OVERRIDE_DIR
    if not folder.is_dir() or folder.is_symlink():
        return []
    used = {template_name(language, stage) for language in LANGUAGES for stage in stages}
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    names = ", ".join(template_name(language, stage) for language in LANGUAGES for stage in stages[:1])
    return [f"{OVERRIDE_DIR.as_posix()}/{path.relative_to(folder).as_posix()}: (file): no reminder uses this file, "
            f"so it changes nothing; an override is <fr|en>/stage_NN.txt for a stage of [collections] stages "
            f"(two digits: {names}, ...)"
            for path in files
            if path.relative_to(folder).as_posix() not in used and not _included_by_another(path, files)]


def _template_problem(env: jinja2.Environment, name: str) -> str | None:
    """Why a send would fail on this template, or None."""
    fields = SAMPLE_FIELDS[name.split(".", 1)[0]]
    try:
        source = _source(env, name)
        unknown = sorted(jinja2.meta.find_undeclared_variables(env.parse(source)) - fields.keys() - env.globals.keys())
    except TemplateError as exc:
        return str(exc)
    except jinja2.TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    if unknown:
        return f"unknown merge field {unknown[0]!r}; known fields: {', '.join(sorted(fields))}"
    try:
        render(html_env(env) if name.endswith(".html") else env, name, fields)
    except TemplateError as exc:
        return str(exc)
    return None


def _source(env: jinja2.Environment, name: str) -> str:
    """The text of the template a send would load under `name` (the override first)."""
    assert env.loader is not None
    try:
        return env.loader.get_source(env, name)[0]
    except UnicodeDecodeError as exc:
        raise TemplateError(f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _included_by_another(path: Path, files: list[Path]) -> bool:
    """True when another override names this file (an `{% include %}` of a shared part)."""
    for other in files:
        if other != path:
            try:
                if path.name in other.read_text(encoding="utf-8", errors="replace"):
                    return True
            except OSError:
                continue
    return False
