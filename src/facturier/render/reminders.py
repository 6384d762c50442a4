"""Reminder drafts: one template per stage and language, rendered into an EmailMessage.

Templates follow the seed's file convention (a `Subject:` first line, a blank line, the
body) and live in `render/templates/reminders/<lang>/stage_NN.txt`; a workspace overrides
any of them with `templates/reminders/<lang>/stage_NN.txt`. Jinja2 runs with
StrictUndefined and the template's own text (never the data merged into it: a client named
`{{x}}` is just a name) is checked for `${ }` placeholders Jinja does not replace, so a
merge field can never silently stay unreplaced (the seed's `string.Template` used them).

Merge fields (every value is already formatted in the client's language with Babel):

- `name`: the client's name; `seller_name`: who signs (the issuer);
- `invoice_id`: the invoice number (numbers joined by ", " for a combined draft);
- `amount`, `total`, `paid`, `credited`: what remains due, the total incl. VAT, what was
  paid and credited, as numbers ("1 234,50"), with `currency` the ISO code ("EUR");
- `issue_date`, `due_date` (the earliest ones for a combined draft); `days_overdue`, `stage`
  and `invoice_count` are integers;
- `late_penalty`: the late-payment penalty rate text of `[terms]`;
- `recovery_indemnity`: "40,00 €" per invoice for a French seller and a business client
  (C. com. L441-10, D441-5), else "" (templates mention it, and the `late_penalty`, only
  when set); a sheet row must also be in France (`french_b2b`);
- `iban`, `bic`, `payment_link`: payment details, "" when unknown;
- `invoices`: every invoice of the draft (one unless combined), each with `invoice_id`,
  `issue_date`, `due_date`, `days_overdue`, `total`, `amount`.

Text merged from data never carries a control or format character into a draft: any left
(ESC, NUL, a right-to-left override U+202E...) is shown as a visible `<U+202E>`. Sources
refuse them in what goes to headers (a sheet's invoice_id and addresses), so this only
makes the rest visible to the reviewer.

Templates run in Jinja's SandboxedEnvironment: an override is text with merge fields, and
no expression in it can reach Python's internals (`''.__class__`, a function's globals),
during `check` or `remind`; an attempt is a template problem, never executed.
"""

from __future__ import annotations

import base64
import re
import unicodedata
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email import quoprimime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, formatdate, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.meta
import jinja2.sandbox
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from stdnum import iban as stdnum_iban

from facturier.core.dunning import DEFAULT_STAGES, ClientReminder, Receivable, ReminderDue
from facturier.core.errors import FacturierError
from facturier.core.money import ZERO
from facturier.core.text import joins_letters
from facturier.render.labels import LOCALES

if TYPE_CHECKING:
    from facturier.config.models import FacturierConfig

BUNDLED = Path(__file__).resolve().parent / "templates" / "reminders"
OVERRIDE_DIR = Path("templates") / "reminders"
LANGUAGES = ("fr", "en")
RECOVERY_INDEMNITY = Decimal("40.00")  # EUR per invoice, C. com. D441-5
# The same header as adapters.mail.REF_HEADER: names outbox files, traces a draft to the journal.
REF_HEADER = "X-Facturier-Ref"
FIELDS = frozenset({
    "name", "seller_name", "invoice_id", "amount", "total", "paid", "credited", "currency",
    "issue_date", "due_date", "days_overdue", "stage", "late_penalty", "recovery_indemnity",
    "iban", "bic", "payment_link", "invoices", "invoice_count",
})
# A placeholder Jinja does not understand, left as is: `${name}` (the seed's syntax). Jinja's
# own `{{ }}` and `{% %}` are consumed by rendering (or refused as a syntax error).
_LEFTOVER = re.compile(r"\$\{")
# Control, format (bidi overrides, zero-width), separators of lines and paragraphs, surrogates.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


class ReminderTemplateError(FacturierError):
    """A reminder template is missing, invalid, or uses a merge field that does not exist.

    `path` is the template as the user finds it (`templates/reminders/fr/stage_07.txt`, or
    `(bundled) fr/stage_07.txt`), `detail` what is wrong with it.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(f"reminder template {path}: {detail}")

    def problem(self) -> str:
        """The problem as `check` prints it: `path: (file): detail`."""
        return f"{self.path}: (file): {self.detail}"


@dataclass(frozen=True, slots=True)
class Creditor:
    """Who reminds: the name that signs, the bank details, the penalty text per language."""

    name: str
    country: str
    iban: str | None = None
    bic: str | None = None
    late_penalty: Mapping[str, str] = field(default_factory=dict)

    def late_penalty_for(self, language: str) -> str:
        """The penalty text in a language, else English, else any, else ''."""
        texts = self.late_penalty
        return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def creditor_from_config(config: FacturierConfig) -> Creditor:
    """The issuer of facturier.toml as the creditor of its reminders."""
    issuer, terms = config.issuer, config.terms
    return Creditor(name=issuer.name, country=issuer.country, iban=issuer.iban, bic=issuer.bic,
                    late_penalty={lang: terms.late_penalty_for(lang) for lang in LANGUAGES})


@dataclass(frozen=True, slots=True)
class RenderedReminder:
    """A rendered template: the subject on one line, the body, and the template used."""

    subject: str
    body: str
    template: str


def reminder_env(root: Path | None = None) -> jinja2.Environment:
    """Templates from the workspace's templates/reminders/ first, then the bundled ones."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(BUNDLED))]
    if root is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(root / OVERRIDE_DIR)))
    # StrictUndefined: a typo in a merge field must stop the draft, not leave a blank.
    # auto_reload off: a command renders each template as it was when first loaded, without
    # a stat of its file per draft (11,000 of them in a 10,000-draft run).
    # Sandboxed: an override is data from the workspace, not code (issue 24).
    return jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined, autoescape=False,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False)


def template_name(language: str, stage: int) -> str:
    """`fr/stage_07.txt`: the template of a stage, relative to a templates/reminders/ folder."""
    return f"{language}/stage_{stage:02d}.txt"


def merge_fields(group: ClientReminder, creditor: Creditor, payment_link: str = "") -> dict[str, Any]:
    """Every merge field of one draft, formatted in the client's language."""
    first = group.dues[0].receivable
    language, currency = first.language, group.currency
    dues = group.dues

    def money(amount: Decimal) -> str:
        return money_text(amount, currency, language)

    return {
        "name": visible(first.client_name), "seller_name": creditor.name, "currency": currency,
        "invoice_id": visible(", ".join(group.numbers)),
        "amount": money(group.remaining),
        "total": money(sum((d.receivable.total for d in dues), ZERO)),
        "paid": money(sum((d.receivable.paid for d in dues), ZERO)),
        "credited": money(sum((d.receivable.credited for d in dues), ZERO)),
        "issue_date": long_date(min(d.receivable.issued_on for d in dues), language),
        "due_date": long_date(min(d.receivable.due_on for d in dues), language),
        "days_overdue": group.days_overdue, "stage": group.stage,
        "late_penalty": creditor.late_penalty_for(language),
        "recovery_indemnity": _recovery_indemnity(creditor, first),
        "iban": _iban_text(creditor.iban) if creditor.iban else "",
        "bic": creditor.bic or "", "payment_link": payment_link,
        "invoices": [_invoice_fields(d, money) for d in dues], "invoice_count": len(dues),
    }


def _invoice_fields(due: ReminderDue, money: Callable[[Decimal], str]) -> dict[str, Any]:
    r = due.receivable
    return {"invoice_id": visible(r.number), "issue_date": long_date(r.issued_on, r.language),
            "due_date": long_date(r.due_on, r.language), "days_overdue": due.days_overdue,
            "total": money(r.total), "amount": money(due.remaining)}


def visible(text: str) -> str:
    """`text` with every control or format character shown as `<U+001B>`: never acted on by a
    mail client or terminal, never hidden, always seen by the person reviewing the draft."""
    if text.isprintable():
        return text
    # Not every non-printable: a no-break space (Zs) in a name is text, shown as a space, and so
    # is a joiner between two letters (a Persian or Indic name's spelling).
    return "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) in _HIDDEN and not joins_letters(text, i)
                   else c for i, c in enumerate(text))


def french_b2b(creditor_country: str, receivable: Receivable) -> bool:
    """Whether the French late-payment rules apply (C. com. L441-10, D441-5): a French seller
    and a business debtor; a sheet row must also be in France (its country, "" when unknown).
    A ledger invoice (country None) follows what its invoice printed."""
    if creditor_country != "FR" or not receivable.business:
        return False
    return receivable.country is None or receivable.country == "FR"


def _recovery_indemnity(creditor: Creditor, receivable: Receivable) -> str:
    """40 € per invoice owed by a French business to a French seller; '' otherwise."""
    if not french_b2b(creditor.country, receivable):
        return ""
    return _indemnity_text(receivable.language)


@lru_cache(maxsize=8)
def _indemnity_text(language: str) -> str:
    return format_currency(RECOVERY_INDEMNITY, "EUR", locale=_locale(language))


@lru_cache(maxsize=8)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(LOCALES[language])
    except KeyError:
        raise ReminderTemplateError(f"{OVERRIDE_DIR.as_posix()}/{language}",
                                    f"no reminder templates for language {language!r} (fr, en)") from None


def money_text(amount: Decimal, currency: str, language: str) -> str:
    """An amount as reminders print it: '1 234,50' (fr) or '1,234.50' (en), with the currency's
    own number of decimals."""
    return _number_text(str(amount), currency, language)


# Memoized on the value's text, like render/view.py: a run formats the same amounts and
# dates thousands of times, and each Babel call costs tens of microseconds.
@lru_cache(maxsize=4096)
def _number_text(amount: str, currency: str, language: str) -> str:
    return format_currency(Decimal(amount), currency, format="#,##0.00", locale=_locale(language),
                           currency_digits=True)


def decimal_text(value: Decimal, language: str) -> str:
    """A plain decimal in the language's notation ('12,15' in French)."""
    return str(format_decimal(value, locale=_locale(language)))


@lru_cache(maxsize=1024)
def long_date(day: date, language: str) -> str:
    """A date as reminders print it: '15 octobre 2026' (fr) or 'October 15, 2026' (en)."""
    return format_date(day, format="long", locale=_locale(language))


@lru_cache(maxsize=64)
def _iban_text(iban: str) -> str:
    return str(stdnum_iban.format(iban))


def render_reminder(env: jinja2.Environment, group: ClientReminder, creditor: Creditor,
                    payment_link: str = "") -> RenderedReminder:
    """The draft's subject and body from the template of its stage and language."""
    language = group.dues[0].receivable.language
    name = template_name(language, group.stage)
    return render_template(env, name, merge_fields(group, creditor, payment_link))


def render_template(env: jinja2.Environment, name: str, fields: Mapping[str, Any]) -> RenderedReminder:
    """Render one template and split it by the `Subject:` convention; every failure is named."""
    template = _load(env, name)
    shown = _shown_path(template)
    _check_template(env, template, shown)
    try:
        # What `template.render(**fields)` does, without merging the template's globals (a
        # ChainMap) into a new dict for every draft: half the cost of rendering a reminder.
        context = template.new_context({**_globals(template), **fields}, shared=True)
        text = "".join(template.root_render_func(context))
    except jinja2.UndefinedError as exc:
        raise ReminderTemplateError(shown, f"unknown merge field ({exc.message})") from None
    except Exception as exc:  # noqa: BLE001 -- an override's expression failing at render time
        raise ReminderTemplateError(shown, f"{type(exc).__name__}: {exc}") from None
    return _split(text, shown)


@lru_cache(maxsize=64)
def _globals(template: jinja2.Template) -> dict[str, Any]:
    return dict(template.globals)


def _load(env: jinja2.Environment, name: str) -> jinja2.Template:
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        raise ReminderTemplateError((OVERRIDE_DIR / name).as_posix(),
                                    "missing: no bundled template for this stage; write this file") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ReminderTemplateError(_shown_name(exc.filename, name), f"line {exc.lineno}: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise ReminderTemplateError((OVERRIDE_DIR / name).as_posix(), f"not UTF-8 text ({exc.reason})") from None


def _shown_path(template: jinja2.Template) -> str:
    return _shown_name(template.filename, str(template.name))


@lru_cache(maxsize=256)  # resolving a path costs more than rendering a reminder
def _shown_name(filename: str | None, name: str) -> str:
    """The workspace-relative path of an override, else `(bundled) fr/stage_07.txt`."""
    if filename and not Path(filename).resolve().is_relative_to(BUNDLED):
        return (OVERRIDE_DIR / name).as_posix()
    return f"(bundled) {name}"


def _split(text: str, shown: str) -> RenderedReminder:
    """`Subject: ...`, a blank line, then the body; leftover placeholders are refused."""
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:") or not rest.startswith("\n"):
        raise ReminderTemplateError(shown, "the first line must be 'Subject: ...' followed by a blank line")
    subject, body = " ".join(first[len("Subject:"):].split()), rest[1:]
    if not subject:
        raise ReminderTemplateError(shown, "the subject is empty")
    hidden = [c for c in subject if unicodedata.category(c) in _HIDDEN] if not subject.isprintable() else []
    if hidden:  # merged data is made visible: this is the template's own text
        bad = hidden[0]
        raise ReminderTemplateError(shown, f"the subject holds the control character U+{ord(bad):04X}: "
                                    "a header cannot carry it; remove it from the template")
    return RenderedReminder(subject, body, shown)


# The templates whose source passed `_check_source`: a command renders each template as it was
# first loaded (auto_reload off), so its text is read and searched once, not once per draft.
_CHECKED: weakref.WeakSet[jinja2.Template] = weakref.WeakSet()


def _check_template(env: jinja2.Environment, template: jinja2.Template, shown: str) -> None:
    """`_check_source` once per loaded template (a failing one is checked, and refused, every time)."""
    if template not in _CHECKED:
        _check_source(env, str(template.name), shown)
        _CHECKED.add(template)


def _check_source(env: jinja2.Environment, name: str, shown: str) -> None:
    """Refuse a template whose text holds a placeholder Jinja would leave as is (`${name}`)."""
    if env.loader is None:
        return
    source = env.loader.get_source(env, name)[0]
    leftover = _LEFTOVER.search(source)
    if leftover is not None:
        line = source.count("\n", 0, leftover.start()) + 1
        raise ReminderTemplateError(shown, f"line {line}: {leftover.group()!r} is no merge field: it would be "
                                    "left as is in the draft (merge fields are written {{ name }})")


def draft_ref(group: ClientReminder) -> str:
    """`2026-0042-stage21`, or `<client>-stage21` for a combined draft: names the outbox file."""
    subject = group.numbers[0] if len(group.dues) == 1 else group.client
    return f"{subject}-stage{group.stage:02d}"


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard registry, but each header class is built once instead of per header set
    (the standard one calls type() every time: a third of the cost of building a draft)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


# The default (RFC 5322, UTF-8) policy with the cached registry: the same bytes, faster.
DRAFT_POLICY = default_policy.clone(header_factory=_CachedHeaderRegistry())


class DraftMessage(EmailMessage):
    """An EmailMessage whose single-part drafts serialize without the generator.

    A reminder without attachment has only headers set raw (short ASCII or encoded words)
    and an ASCII payload (7bit or quoted-printable): its bytes are each header folded by the
    policy, a blank line, the payload, exactly what `email.generator.BytesGenerator` writes
    (a test holds them equal) for a fifth of the cost. Anything else takes the generator.
    """

    def as_bytes(self, unixfrom: bool = False, policy: Any = None) -> bytes:
        payload = self._payload  # type: ignore[attr-defined]
        if unixfrom or policy is not None or not isinstance(payload, str) or not payload.isascii():
            return super().as_bytes(unixfrom, policy)
        fold = DRAFT_POLICY.fold_binary
        head = b"".join(fold(name, value) for name, value in self._headers)  # type: ignore[attr-defined]
        body = payload.encode("ascii")
        return head + b"\n" + body


def reminder_email(rendered: RenderedReminder, group: ClientReminder, *, sender: str,
                   reply_to: str | None = None, bcc: str | None = None,
                   attachments: Sequence[tuple[str, bytes]] = (), when: datetime | None = None,
                   message_id: str | None = None) -> EmailMessage:
    """The draft: to the client, from [mail] from, answering the invoice email when it is known.

    `In-Reply-To` names the most overdue invoice's email and `References` every one of
    them, so mail clients thread the reminder under the invoice. `attachments` are
    (filename, PDF bytes), e.g. the invoice PDFs read back with their hash checked.
    """
    message = DraftMessage(policy=DRAFT_POLICY)
    # Addresses come validated from the configuration: plain ASCII ones skip the address
    # parser (two thirds of the cost of a draft), any other takes the validating path.
    _set_token(message, "From", sender)
    _set_token(message, "To", ", ".join(dict.fromkeys(e for d in group.dues for e in d.receivable.emails)))
    if reply_to:
        _set_token(message, "Reply-To", reply_to)
    if bcc:
        _set_token(message, "Bcc", bcc)
    _set_text(message, "Subject", rendered.subject)
    _set_token(message, "Date", format_datetime(when) if when is not None else formatdate(localtime=True))
    _set_token(message, "Message-ID", message_id or make_msgid(domain=parseaddr(sender)[1].rsplit("@", 1)[-1]))
    _thread(message, group)
    _set_token(message, REF_HEADER, draft_ref(group))
    if attachments:
        message.set_content(rendered.body, cte=_body_encoding(rendered.body))
        for filename, data in attachments:
            message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    else:
        _set_plain_body(message, rendered.body)
    return message


def _set_plain_body(message: EmailMessage, body: str) -> None:
    """What `set_content(body)` writes for a text/plain UTF-8 body, without its header parsing
    (a third of the cost of a draft): the same three headers and the same encoded body."""
    cte = _body_encoding(body)
    lines = body.encode("utf-8").splitlines()
    normal = b"\n".join(lines) + b"\n"
    if cte == "7bit":
        payload = normal.decode("ascii")
    else:
        payload = quoprimime.body_encode(normal.decode("latin-1"), DRAFT_POLICY.max_line_length or 78)
    message.set_raw("Content-Type", 'text/plain; charset="utf-8"')
    message.set_raw("Content-Transfer-Encoding", cte)
    message.set_raw("MIME-Version", "1.0")
    message.set_payload(payload)


def _encoded_words(value: str, chunk_bytes: int = 39) -> str:
    """RFC 2047 base64 encoded words, one per line of at most 66 columns, never splitting a
    character (email.header does the same one character at a time, ten times slower)."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in value:
        length = len(char.encode("utf-8"))
        if size + length > chunk_bytes:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += length
    words.append("".join(chunk))
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)


def _set_text(message: EmailMessage, name: str, value: str) -> None:
    """A free-text header (the subject): set as is when short ASCII, else RFC 2047 encoded
    words in UTF-8 folded at 76 columns, without a parse tree being built and refolded."""
    if value.isascii() and value.isprintable() and len(name) + len(value) < 76:
        message.set_raw(name, value)
    elif value.isprintable():
        message.set_raw(name, _encoded_words(value))
    else:
        message[name] = value  # a control character: let the policy refuse it


def _body_encoding(body: str) -> str:
    """7bit for short-lined ASCII, else quoted-printable: named, so the email package does not
    encode the body both ways to pick the shorter (half the cost of setting it)."""
    if body.isascii() and all(len(line) <= 78 for line in body.splitlines()):
        return "7bit"
    return "quoted-printable"


def _thread(message: EmailMessage, group: ClientReminder) -> None:
    sent = [d.receivable.sent_message_id for d in group.dues if d.receivable.sent_message_id]
    if sent:
        _set_token(message, "In-Reply-To", sent[0])
        _set_token(message, "References", " ".join(dict.fromkeys(sent)))


def _set_token(message: EmailMessage, name: str, value: str) -> None:
    """Set a machine-made header (ids, dates, refs). Short printable ASCII needs no parsing or
    encoding, and skipping the header parser halves the cost of a draft; anything else takes
    the normal, validating path."""
    if value.isascii() and value.isprintable() and len(name) + len(value) < 76:
        message.set_raw(name, value)
    else:
        message[name] = value


def check_templates(root: Path, stages: Sequence[int] = DEFAULT_STAGES) -> list[str]:
    """Every reminder template a run could use, rendered against a sample; the problems found.

    For each language and configured stage: the template exists, parses, uses only known
    merge fields (anywhere, even in a branch the sample does not take), renders a single and
    a combined sample, and follows the `Subject:` convention. Problems read like every other
    problem of `check`: `templates/reminders/fr/stage_07.txt: (file): message`.
    """
    env = reminder_env(root)
    problems: list[str] = []
    for language in LANGUAGES:
        for stage in stages:
            problems.extend(_template_problems(env, language, stage))
    return problems


def _template_problems(env: jinja2.Environment, language: str, stage: int) -> list[str]:
    name = template_name(language, stage)
    try:
        template = _load(env, name)
    except ReminderTemplateError as exc:
        return [exc.problem()]
    shown = _shown_path(template)
    source = Path(template.filename or "").read_text(encoding="utf-8")
    unknown = sorted(jinja2.meta.find_undeclared_variables(env.parse(source)) - FIELDS)
    if unknown:
        known = ", ".join(sorted(FIELDS))
        return [ReminderTemplateError(shown, f"unknown merge field {field!r}; known fields: {known}").problem()
                for field in unknown]
    for count in (1, 2):
        fields = merge_fields(sample_group(language, stage, count), SAMPLE_CREDITOR, "https://pay.example/x")
        try:
            render_template(env, name, fields)
        except ReminderTemplateError as exc:
            return [exc.problem()]
    return []


SAMPLE_CREDITOR = Creditor(name="Palks Studio", country="FR", iban="FR7630006000011234567890189",
                           bic="AGRIFRPP", late_penalty={"fr": "trois fois le taux d'intérêt légal",
                                                         "en": "three times the legal interest rate"})


def sample_group(language: str, stage: int, count: int = 1) -> ClientReminder:
    """A sample draft of `count` overdue invoices, for checks and previews."""
    dues = tuple(
        ReminderDue(Receivable(
            number=f"2026-{42 + i:04d}", client="acme", client_name="ACME SARL",
            emails=("compta@acme.example",), language=language, currency="EUR",
            issued_on=date(2026, 9, 15), due_on=date(2026, 10, 15), total=Decimal("1200.00"),
            paid=Decimal("200.00"), credited=ZERO, remaining=Decimal("1000.00"),
            sent_message_id=f"<invoice-{i}@palks.example>"), stage, stage + i, Decimal("1000.00"))
        for i in range(count))
    return ClientReminder("acme", "EUR", stage, stage + count - 1,
                          sum((d.remaining for d in dues), ZERO), dues)
