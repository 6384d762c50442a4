"""`check`: two sellers whose numbering can give the same number (a warning).

Each seller (the issuer, each batch client) counts its own series, so two templates that
can render the same text (the issuer's "{year}-{seq:04d}" and a batch client's
"{year}-{seq:04d}") issue that number twice. Commands that take a NUMBER (`show`, `credit`,
`pay --invoice`, `dispute`, `promise`) then reach the first document issued with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facturier.core.numbering import shared_number

if TYPE_CHECKING:
    from facturier.config import Workspace


def seller_templates(ws: Workspace) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(seller, where the template is set, template, its `{client}` values) of every series."""
    direct = tuple(sorted(ws.clients))
    numbering = ws.config.numbering
    series = [("issuer", "facturier.toml: numbering.invoice", str(numbering.invoice), direct),
              ("issuer", "facturier.toml: numbering.credit_note", str(numbering.credit_note), direct)]
    for batch_id, cfg in sorted(ws.batch_clients.items()):
        where = f"batch_clients/{batch_id}.toml: numbering"
        series.append((batch_id, where, str(cfg.numbering), (batch_id,)))
        series.append((batch_id, f"{where} (its credit notes: AV-...)", "AV-" + str(cfg.numbering), (batch_id,)))
    return series


def shared_number_warnings(ws: Workspace) -> list[str]:
    """One warning per pair of sellers' templates that can give the same number."""
    series = seller_templates(ws)
    warnings = []
    for i, (seller, where, template, clients) in enumerate(series):
        for other_seller, other_where, other, other_clients in series[i + 1:]:
            if seller == other_seller:
                continue  # one seller's templates share one counter when they render alike
            number = shared_number(template, clients, other, other_clients)
            if number is not None:
                warnings.append(
                    f"{where} ({template!r}) and {other_where} ({other!r}) can both give {number}: each seller "
                    "counts its own series, so that number would be issued twice, and show, credit, "
                    "pay --invoice, dispute and promise, given the number, reach only the first; give each "
                    "seller its own prefix")
    return warnings
