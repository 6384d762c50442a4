"""OFX statements (1.x SGML and 2.x XML), parsed with ofxtools."""

from __future__ import annotations

import io
from typing import Any

from ofxtools.Parser import OFXTree

from facturier.adapters.bank import BankTransaction
from facturier.core.errors import InputError


def parse_ofx(content: bytes) -> list[BankTransaction]:
    """Credits (positive amounts) of every statement in the file."""
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(content))
        ofx: Any = tree.convert()
    except Exception as exc:  # ofxtools raises many unrelated types on bad input
        # ofxtools may quote the whole input in its message: keep its first line, shortened.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"not a valid OFX file: {reason}") from None
    out = []
    for stmt in ofx.statements:
        for tx in stmt.transactions:
            if tx.trnamt <= 0:
                continue
            text = " ".join(str(part) for part in (tx.name, tx.memo) if part)
            out.append(BankTransaction(tx.dtposted.date(), tx.trnamt, stmt.curdef, text,
                                       tx.fitid or None, str(tx.name or "")))
    return out
