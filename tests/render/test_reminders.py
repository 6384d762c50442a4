"""Reminder templates: every bundled stage and language renders, overrides win, no field stays unreplaced."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from pathlib import Path

import pytest

from facturier.core.dunning import DEFAULT_STAGES, ClientReminder, group_reminders
from facturier.render.reminders import (
    BUNDLED,
    FIELDS,
    REF_HEADER,
    SAMPLE_CREDITOR,
    Creditor,
    ReminderTemplateError,
    check_templates,
    draft_ref,
    merge_fields,
    reminder_email,
    reminder_env,
    render_reminder,
    sample_group,
)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def override(root: Path, name: str, text: str) -> None:
    path = root / "templates" / "reminders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_one_bundled_template_per_stage_and_language() -> None:
    names = sorted(p.relative_to(BUNDLED).as_posix() for p in BUNDLED.rglob("*.txt"))
    assert names == sorted(f"{lang}/stage_{s:02d}.txt" for lang in ("fr", "en") for s in DEFAULT_STAGES)


def test_the_bundled_templates_pass_the_check(tmp_path: Path) -> None:
    assert check_templates(tmp_path) == []


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("stage", DEFAULT_STAGES)
def test_every_stage_renders_single_and_combined(language: str, stage: int) -> None:
    env = reminder_env()
    single = render_reminder(env, sample_group(language, stage), SAMPLE_CREDITOR)
    body = plain(single.body)
    assert "2026-0042" in single.subject and "ACME SARL" in body and "Palks Studio" in body
    assert ("1 000,00 EUR" if language == "fr" else "1,000.00 EUR") in body
    assert "FR76 3000 6000 0112 3456 7890 189" in body
    combined = render_reminder(env, sample_group(language, stage, 2), SAMPLE_CREDITOR)
    assert "2026-0042, 2026-0043" in combined.subject
    assert ("2 000,00 EUR" if language == "fr" else "2,000.00 EUR") in plain(combined.body)
    for text in (single.subject, single.body, combined.body):
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_french_b2b_mentions_from_stage_21_only(language: str) -> None:
    env = reminder_env()
    for stage in DEFAULT_STAGES:
        body = plain(render_reminder(env, sample_group(language, stage), SAMPLE_CREDITOR).body)
        assert (("40,00 €" if language == "fr" else "€40.00") in body) == (stage >= 21)
        assert ("L441-10" in body) == (stage >= 21)


def test_no_indemnity_for_a_consumer_or_a_foreign_seller() -> None:
    env = reminder_env()
    group = sample_group("fr", 28)
    consumer_due = replace(group.dues[0], receivable=replace(group.dues[0].receivable, business=False))
    consumer = replace(group, dues=(consumer_due,))
    assert merge_fields(consumer, SAMPLE_CREDITOR)["recovery_indemnity"] == ""
    assert "L441-10" not in render_reminder(env, consumer, SAMPLE_CREDITOR).body
    foreign = replace(SAMPLE_CREDITOR, country="BE")
    assert merge_fields(group, foreign)["recovery_indemnity"] == ""


def test_fields_are_formatted_in_the_language() -> None:
    fields = merge_fields(sample_group("en", 14), Creditor("Palks Studio", "FR"))
    assert fields["due_date"] == "October 15, 2026" and fields["amount"] == "1,000.00"
    assert fields["paid"] == "200.00" and fields["total"] == "1,200.00" and fields["iban"] == ""
    assert fields["late_penalty"] == "" and fields["days_overdue"] == 14
    assert set(fields) == FIELDS
    fr = merge_fields(sample_group("fr", 14), SAMPLE_CREDITOR)
    assert fr["due_date"] == "15 octobre 2026" and plain(fr["amount"]) == "1 000,00"
    assert fr["late_penalty"] == "trois fois le taux d'intérêt légal"


def test_amounts_follow_the_currency_minor_unit() -> None:
    group = sample_group("en", 7)
    due = group.dues[0]
    yen = replace(group, currency="JPY", remaining=Decimal(150000),
                  dues=(replace(due, remaining=Decimal(150000), receivable=replace(due.receivable, currency="JPY")),))
    assert merge_fields(yen, SAMPLE_CREDITOR)["amount"] == "150,000"


def test_a_workspace_override_wins_and_keeps_the_convention(tmp_path: Path) -> None:
    override(tmp_path, "fr/stage_07.txt", "Subject:  Coucou   {{ invoice_id }}\n\nSalut {{ name }} : {{ amount }}\n")
    rendered = render_reminder(reminder_env(tmp_path), sample_group("fr", 7), SAMPLE_CREDITOR)
    assert rendered.subject == "Coucou 2026-0042"
    assert plain(rendered.body) == "Salut ACME SARL : 1 000,00\n"
    assert rendered.template == "templates/reminders/fr/stage_07.txt"
    assert render_reminder(reminder_env(tmp_path), sample_group("en", 7), SAMPLE_CREDITOR).template \
        == "(bundled) en/stage_07.txt"


@pytest.mark.parametrize(("text", "problem"), [
    ("Subject: Hi {{ nme }}\n\nBody\n", "unknown merge field 'nme'"),
    ("Subject: Hi\n\n{% if stage > 100 %}{{ hidden_typo }}{% endif %}\n", "unknown merge field 'hidden_typo'"),
    ("Subject: Hi\n\n{% for i in invoices %}{{ i.amonut }}{% endfor %}\n", "unknown merge field"),
    ("Hi {{ name }}\n\nBody\n", "the first line must be 'Subject: ...' followed by a blank line"),
    ("Subject: Hi\nBody\n", "the first line must be 'Subject: ...' followed by a blank line"),
    ("Subject: {{ payment_link }}\n\nBody\n", None),
    ("Subject: Hi\n\n{{ name }\n", "line 3"),
    ("Subject: Hi\n\nHello ${name}\n", "line 3: '${' is no merge field"),
    ("Subject: Hi\n\nHello {{ '{{' }}name}}\n", None),  # braces written on purpose, escaped
])
def test_check_reports_template_problems(tmp_path: Path, text: str, problem: str | None) -> None:
    override(tmp_path, "en/stage_21.txt", text)
    problems = check_templates(tmp_path)
    if problem is None:  # (an empty payment link makes an empty subject in real use, not in the sample)
        assert problems == []
        return
    assert len(problems) == 1 and problems[0].startswith("templates/reminders/en/stage_21.txt: (file): ")
    assert problem in problems[0]


def test_a_configured_stage_without_a_template_is_reported(tmp_path: Path) -> None:
    assert check_templates(tmp_path, (7, 10)) == [
        "templates/reminders/fr/stage_10.txt: (file): missing: no bundled template for this stage; write this file",
        "templates/reminders/en/stage_10.txt: (file): missing: no bundled template for this stage; write this file",
    ]
    override(tmp_path, "fr/stage_10.txt", "Subject: R {{ invoice_id }}\n\n{{ amount }}\n")
    override(tmp_path, "en/stage_10.txt", "Subject: R {{ invoice_id }}\n\n{{ amount }}\n")
    assert check_templates(tmp_path, (7, 10)) == []


def test_render_refuses_an_unknown_field_instead_of_leaving_a_blank(tmp_path: Path) -> None:
    override(tmp_path, "fr/stage_07.txt", "Subject: x\n\n{{ client_first_name }}\n")
    with pytest.raises(ReminderTemplateError, match="unknown merge field") as raised:
        render_reminder(reminder_env(tmp_path), sample_group("fr", 7), SAMPLE_CREDITOR)
    assert str(raised.value).startswith("reminder template templates/reminders/fr/stage_07.txt: ")
    assert "client_first_name" in str(raised.value)


def test_the_email_answers_the_invoice_email_and_parses_back() -> None:
    group = sample_group("fr", 21, 2)
    rendered = render_reminder(reminder_env(), group, SAMPLE_CREDITOR)
    message = reminder_email(rendered, group, sender="Palks Studio <billing@palks.example>",
                             reply_to="compta@palks.example", attachments=[("2026-0042.pdf", b"%PDF-1.7 x")],
                             when=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["To"] == "compta@acme.example"
    assert parsed["From"] == "Palks Studio <billing@palks.example>"
    assert parsed["Reply-To"] == "compta@palks.example"
    assert parsed["Subject"] == rendered.subject
    assert parsed["In-Reply-To"] == "<invoice-0@palks.example>"
    assert parsed["References"] == "<invoice-0@palks.example> <invoice-1@palks.example>"
    assert parsed["Message-ID"].endswith("@palks.example>")
    assert parsed["Date"] == "Tue, 01 Dec 2026 09:00:00 +0000"
    assert parsed[REF_HEADER] == "acme-stage21"
    body = parsed.get_body(("plain",))
    assert body is not None and "Total restant dû" in plain(body.get_content())
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["2026-0042.pdf"]
    assert attachments[0].get_content() == b"%PDF-1.7 x"


def test_without_a_known_invoice_email_there_is_no_threading() -> None:
    group = sample_group("en", 7)
    due = replace(group.dues[0], receivable=replace(group.dues[0].receivable, sent_message_id=None))
    single: ClientReminder = group_reminders([due])[0]
    message = reminder_email(render_reminder(reminder_env(), single, SAMPLE_CREDITOR), single,
                             sender="billing@palks.example", message_id="<r1@palks.example>")
    assert message["In-Reply-To"] is None and message["References"] is None
    assert message["Message-ID"] == "<r1@palks.example>"
    assert draft_ref(single) == "2026-0042-stage07"


def test_long_or_non_ascii_headers_take_the_validating_path() -> None:
    group = sample_group("fr", 35, 4)  # four invoice emails: References is longer than one line
    long_ids = tuple(replace(d, receivable=replace(d.receivable, sent_message_id=f"<{'x' * 40}.{i}@palks.example>"))
                     for i, d in enumerate(group.dues))
    group = replace(group, dues=long_ids)
    message = reminder_email(render_reminder(reminder_env(), group, SAMPLE_CREDITOR), group,
                             sender="Studio Élan <billing@palks.example>")
    data = message.as_bytes()
    assert all(len(line) <= 998 for line in data.split(b"\n"))
    assert data.isascii()  # RFC 2047 for the name, quoted-printable for the body
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed["References"].split() == [d.receivable.sent_message_id for d in long_ids]
    assert parsed["From"] == "Studio Élan <billing@palks.example>"
    assert parsed["Subject"] == message["Subject"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_draft_bytes_are_exactly_what_the_email_generator_writes(language: str) -> None:
    """DraftMessage's fast serialization must equal BytesGenerator's, with or without attachment,
    with ASCII and non-ASCII sender, subject and body."""
    import io
    from email.generator import BytesGenerator

    from facturier.render.reminders import (
        SAMPLE_CREDITOR,
        reminder_email,
        reminder_env,
        render_reminder,
        sample_group,
    )

    env = reminder_env(None)
    for stage in (7, 14, 21, 28, 35, 42):
        for count in (1, 3):
            group = sample_group(language, stage, count)
            rendered = render_reminder(env, group, SAMPLE_CREDITOR)
            for sender in ("Palks Studio <billing@palks.example>", "Pälks Stüdio <billing@palks.example>"):
                for attachments in ((), (("notice.pdf", b"%PDF-1.7 sample"),)):
                    msg = reminder_email(rendered, group, sender=sender, bcc="archive@palks.example",
                                         attachments=attachments, message_id="<id@palks.example>")
                    buffer = io.BytesIO()
                    BytesGenerator(buffer, policy=msg.policy).flatten(msg)
                    assert msg.as_bytes() == buffer.getvalue()


@pytest.mark.parametrize("name", ["ACME {{ x }}", "{% raw %}ACME", "ACME ${name}", "Café {{7*7}} & ${x}"])
def test_a_name_that_looks_like_a_template_is_data_and_is_reminded(name: str) -> None:
    """Data is never template source: a client named like a placeholder is drafted, its name
    shown as written, and no error blames the bundled template."""
    group = sample_group("en", 7)
    dues = tuple(replace(d, receivable=replace(d.receivable, client_name=name)) for d in group.dues)
    rendered = render_reminder(reminder_env(), replace(group, dues=dues), SAMPLE_CREDITOR)
    assert name in rendered.body and "49" not in rendered.body.replace(name, "")


EXPLOIT = ("Subject: Hi {{ invoice_id }}\n\n"
           "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == '_wrap_close' %}"
           "{{ c.__init__.__globals__['system']('touch ' ~ target) }}{% endif %}{% endfor %}{{ name }}\n")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_override_cannot_run_code_during_check_or_a_render(tmp_path: Path, language: str) -> None:
    """Issue 24: a template override is text with merge fields, never code. Jinja's sandbox
    refuses Python internals (`__class__`, a function's `__globals__`), so the attempt is a
    template problem and nothing runs."""
    target = tmp_path / "PWNED"
    override(tmp_path, f"{language}/stage_07.txt", EXPLOIT.replace("target", repr(str(target))))
    problems = check_templates(tmp_path)
    assert len(problems) == 1 and problems[0].startswith(f"templates/reminders/{language}/stage_07.txt: (file): ")
    assert "SecurityError" in problems[0] and "unsafe" in problems[0]
    with pytest.raises(ReminderTemplateError, match="SecurityError"):
        render_reminder(reminder_env(tmp_path), sample_group(language, 7), SAMPLE_CREDITOR)
    assert not target.exists()


def test_control_characters_in_merged_data_are_shown_not_sent() -> None:
    """A name or number from any source with ESC, NUL or a right-to-left override never
    reaches a draft as such: each is shown as <U+XXXX>, in the subject and the body."""
    group = sample_group("en", 7)
    due = group.dues[0]
    odd = replace(due, receivable=replace(due.receivable, client_name="AC\u202eME\x1b[2J\x00",
                                          number="2026-\u202e42"))
    group = replace(group, dues=(odd,))
    rendered = render_reminder(reminder_env(), group, SAMPLE_CREDITOR)
    message = reminder_email(rendered, group, sender="billing@palks.example")
    raw = message.as_bytes().decode("utf-8", "replace")
    for char in ("\u202e", "\x1b", "\x00"):
        assert char not in rendered.subject and char not in rendered.body and char not in raw
    assert "AC<U+202E>ME<U+001B>[2J<U+0000>" in rendered.body


def test_a_control_character_in_an_override_s_subject_is_a_template_problem(tmp_path: Path) -> None:
    override(tmp_path, "en/stage_07.txt", "Subject: Hi {{ invoice_id }}\x1b[2J\n\nBody {{ name }}\n")
    [problem] = check_templates(tmp_path)
    assert problem.startswith("templates/reminders/en/stage_07.txt: (file): the subject holds the control "
                              "character U+001B"), problem


def test_a_no_break_space_in_a_name_stays_a_space() -> None:
    group = sample_group("fr", 7)
    due = group.dues[0]
    named = replace(group, dues=(replace(due, receivable=replace(due.receivable, client_name="ACME\u00a0SARL")),))
    assert "Bonjour ACME\u00a0SARL" in render_reminder(reminder_env(), named, SAMPLE_CREDITOR).body
