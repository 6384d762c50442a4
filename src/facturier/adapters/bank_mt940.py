"""SWIFT MT940 statements, parsed with mt-940.

Real banks stretch the format: ASN puts an IBAN (up to 34 characters) where SWIFT allows a
16-character customer reference, others write statement numbers mt-940 does not expect. A
file is parsed with the library's standard tags first, so standard files read exactly as the
library reads them, then once more with lenient tags for those fields. The library logs regex
debugging on failure; it is silenced, and its errors become messages naming the tag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any, ClassVar

import mt940
from mt940.tags import Statement, StatementNumber, Tag

from facturier.adapters.bank_record import BankTransaction, ProblemCollector
from facturier.core.errors import InputError
from facturier.core.money import received_amount


class LenientStatementLine(Statement):
    """`:61:` with a customer reference of up to 34 characters (an IBAN, as ASN writes)."""

    pattern: ClassVar[str] = Statement.pattern.replace(
        r"(?P<customer_reference>((?!//)[^\n]){0,16})", r"(?P<customer_reference>((?!//)[^\n]){0,34})")


class LenientStatementNumber(StatementNumber):
    """`:28:`/`:28C:` as any text: the statement number is not used for payments."""

    pattern: ClassVar[str] = r"(?P<statement_number>[^/\n]*)(?:/(?P<sequence_number>[^\n]*))?$"


_LENIENT_TAGS: dict[int | str, Tag] = {61: LenientStatementLine(), 28: LenientStatementNumber()}
_TAG_NAMES = {20: "transaction reference", 25: "account", 28: "statement number",
              60: "opening balance", 61: "statement line", 62: "closing balance",
              64: "available balance", 65: "forward balance", 86: "transaction details"}
_INTERIM = re.compile(r"^:(?:34F|13D?):|\{2:[IO]942", re.MULTILINE)
# An :86: after the closing or available balances is about the statement (ING writes its
# totals there), but mt-940 adds it to the last transaction's details: drop it first.
_STATEMENT_INFO = re.compile(rb"(^:6[245][FM]?:[^\n]*\n(?::6[45][FM]?:[^\n]*\n)*):86:.*?(?=^:[0-9]{2}[A-Z]?:|^-|\Z)",
                             re.MULTILINE | re.DOTALL)
# An account number where a transaction reference belongs (ASN writes the payer's IBAN
# there): the same payer's next transfer would look like an already imported one.
_ACCOUNT = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")
_SUBFIELD_NAME = re.compile(r"/CNTP/[^/]*/[^/]*/([^/]+)/")


def parse_mt940(content: bytes, csv_config: Any = None) -> list[BankTransaction]:
    """Credits (status C) of every statement in the file, and its returned transfers (mark RC,
    reversal of a credit) as `returned`."""
    del csv_config  # only CSV statements need a column mapping
    _check_complete(content.decode("latin-1"))
    content = _STATEMENT_INFO.sub(rb"\1", content.replace(b"\r\n", b"\n"))
    out: list[BankTransaction] = []
    problems = ProblemCollector()
    for number, tx in enumerate(_parse(content), start=1):
        data = tx.data
        status = data.get("status")
        if status not in ("C", "RC"):
            continue
        where = f"statement line {number}"
        amount = data["amount"]
        with problems.line():
            value = received_amount(str(abs(amount.amount)), amount.currency, f"MT940 {where}: amount")
            details = _details(str(data.get("transaction_details") or ""))
            day = data["date"]
            out.append(BankTransaction(date(day.year, day.month, day.day), value, amount.currency, details,
                                       _bank_id(data), _counterparty(data, details), f"MT940 {where}",
                                       returned=status == "RC", refs=_refs(data) if status == "RC" else ()))
    problems.check(out)
    return out


def _details(raw: str) -> str:
    """The :86: text on one line, without the message trailer (`-}`) mt-940 leaves in."""
    lines = raw.splitlines()
    while lines and lines[-1].strip() in ("-", "-}"):
        lines.pop()
    # Subfield-coded details (/EREF/.../REMI/...) are cut at 65 characters mid-word;
    # free text is cut between words.
    joined = "".join(lines) if raw.startswith("/") else " ".join(lines)
    return " ".join(joined.split())


def _bank_id(data: dict[str, Any]) -> str | None:
    ref = str(data.get("bank_reference") or data.get("customer_reference") or "").strip()
    return None if ref in ("", "NONREF") or _ACCOUNT.fullmatch(ref) else ref


def _refs(data: dict[str, Any]) -> tuple[str, ...]:
    """A reversal's references: the customer reference often quotes the original credit's."""
    refs = (str(data.get(k) or "").strip() for k in ("customer_reference", "bank_reference"))
    return tuple(dict.fromkeys(r for r in refs if r and r != "NONREF"))


def _check_complete(text: str) -> None:
    """Refuse what mt-940 would silently read as fewer transactions."""
    opened = len(re.findall(r"^:20:", text, re.MULTILINE))
    closed = len(re.findall(r"^:62[FM]:", text, re.MULTILINE))
    if _INTERIM.search(text):
        raise InputError("an MT942 interim report, not an MT940 statement: import the day's "
                         "MT940 statement instead (its credits are final)")
    if opened == 0:
        raise InputError("not a valid MT940 file: no statement (no :20: tag); "
                         "is this a fragment of a statement?")
    if closed < opened:
        raise InputError(f"not a valid MT940 file: truncated, {opened} statement(s) but {closed} "
                         "closing balance(s) (:62F:)")


def _parse(content: bytes) -> Any:
    """The library's transactions, standard tags first, then the lenient ones."""
    with _quiet_library():
        with suppress(RuntimeError):
            return mt940.parse(content)
        try:
            return mt940.parse(content, tags=dict(_LENIENT_TAGS))
        except RuntimeError as exc:
            raise InputError(f"not a valid MT940 file: {_describe(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - mt-940 raises plain exceptions on malformed values
            raise InputError(f"not a valid MT940 file: {exc}") from None


@contextmanager
def _quiet_library() -> Iterator[None]:
    """Keep mt-940's regex debugging (logged at error level) off stderr."""
    # Each tag logs through its own child logger: a handler that drops everything on the
    # package logger, with propagation stopped, keeps the records from Python's last-resort
    # stderr handler and from any handler the application configured.
    logger = logging.getLogger("mt940")
    sink, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(sink)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(sink)
        logger.propagate = propagate


def _describe(exc: RuntimeError) -> str:
    """`cannot read the :61: statement line '...'` instead of the library's object repr."""
    tag = next((a for a in exc.args if isinstance(a, Tag)), None)
    value = next((a for a in exc.args[1:] if isinstance(a, str)), "")
    if tag is None:
        return str(exc.args[0] if exc.args else exc)[:200]
    name = _TAG_NAMES.get(int(str(tag.id)[:2]) if str(tag.id)[:2].isdigit() else -1, "field")
    shown = " ".join(value.split())
    return f"cannot read the :{tag.id}: {name} {shown[:80]!r}"


def _counterparty(data: dict[str, Any], details: str) -> str:
    """The payer's name when the bank gives it: German ?32 subfields, ING /CNTP/, or the
    name line under :61: (ASN, SNS)."""
    name = str(data.get("applicant_name") or "")
    if not name and (found := _SUBFIELD_NAME.search(details)):
        name = found.group(1)
    extra = str(data.get("extra_details") or "")
    if not name and extra and not extra.startswith("/"):
        name = extra
    return " ".join(name.split())
