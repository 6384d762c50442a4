"""`check`'s look at what documents will print: every text of their views, in the invoice fonts.

Configuration fields are refused one by one as they are validated, but a document prints
more than fields: a late-penalty table picked by language, formatted amounts with their
currency sign, identity lines put together. So `check` builds the invoice each direct
client would get, and one per batch client (with a placeholder customer: customers come
from CSV rows, whose fields are checked as they are read), and checks every text of its
view, the same check the renderer makes before each compile. A problem names the file and
key to fix: `facturier.toml: terms.late_penalty: 'En cas de retard … 😀' contains …`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from facturier.config.load import BATCH_CLIENTS_DIR, CLIENTS_DIR, CONFIG_FILE
from facturier.config.problems import FILE_KEY, format_problem
from facturier.core.invoice import Document
from facturier.ops.batch.process import batch_document
from facturier.ops.batch.rows import BatchRow
from facturier.ops.invoicing.monthly import monthly_document
from facturier.ops.state_access import NumberAllocator
from facturier.render.glyphs import unprintable_fields
from facturier.render.view import build_view

if TYPE_CHECKING:
    from facturier.config import Workspace


@dataclass(frozen=True, slots=True)
class _Sources:
    """Where a document's texts come from: the seller's file (with the key prefix of its
    identity and its late-penalty key) and the buyer's file (its lines and currency)."""

    seller_file: str
    seller_prefix: str
    penalty_key: str
    buyer_file: str

    def of(self, path: str) -> tuple[str, str]:
        """The file and key a view path is printed from: 'table.rows[1][0]' -> lines[1].description."""
        if path == "seller.name":
            return self.seller_file, f"{self.seller_prefix}name"
        if path.startswith(("seller.", "payment.")):
            return self.seller_file, self.seller_prefix.rstrip(".") or FILE_KEY
        if path.startswith("mentions["):
            return self.seller_file, self.penalty_key
        if path.startswith("buyer."):
            return self.buyer_file, "name" if path == "buyer.name" else "address"
        if path.startswith("table.rows[") and path.endswith("][0]"):
            return self.buyer_file, f"lines[{path[len('table.rows['):].split(']', 1)[0]}].description"
        return self.buyer_file, "currency"  # amounts, printed with the currency's sign


def printed_text_problems(ws: Workspace, day: date) -> list[str]:
    """Every text the workspace's documents would print that the invoice fonts cannot, as problems."""
    problems: list[str] = []
    for client_id, client in sorted(ws.clients.items()):
        if client.lines:  # an inactive client may have none: it is not invoiced
            doc = monthly_document(ws, client_id, day, NumberAllocator(None))
            client_file = f"{CLIENTS_DIR}/{client_id}.toml"
            problems += _problems(doc, _Sources(CONFIG_FILE, "issuer.", "terms.late_penalty", client_file))
    for batch_id in sorted(ws.batch_clients):
        batch_file = f"{BATCH_CLIENTS_DIR}/{batch_id}.toml"
        problems += _problems(_batch_sample(ws, batch_id, day), _Sources(batch_file, "", "late_penalty", batch_file))
    return list(dict.fromkeys(problems))  # the issuer's own texts are on every client's invoice


def _problems(doc: Document, sources: _Sources) -> list[str]:
    return [format_problem(*sources.of(path), message)
            for path, message in unprintable_fields(build_view(doc.to_record()))]


def _batch_sample(ws: Workspace, batch_id: str, day: date) -> Document:
    """A batch client's invoice to a placeholder customer, as its CSV rows would make it."""
    cfg = ws.batch_clients[batch_id]
    row = BatchRow(
        line=2, reference="REF-1", issue_date=day, due_date=day, customer_name="Customer",
        customer_address=("1 Street",), customer_email=None, customer_country=cfg.country,
        customer_vat_id=None, customer_siren=None, description="Item", quantity=Decimal(1),
        unit_price=Decimal("1234.56"), vat_rate=cfg.default_vat_rate, currency=cfg.currency,
    )
    return batch_document(cfg, batch_id, row, NumberAllocator(None))
