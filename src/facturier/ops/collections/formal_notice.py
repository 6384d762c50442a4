"""The formal notice ("mise en demeure") PDF attached to the last stage's draft (`formal_notice = true`).

Only the draft of the last configured stage carries it, listing every invoice of that draft
(one, or all of a client's with `combine = true`). The amounts are those of the plan; the
PDF is rendered by `render.formal_notice`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.core.dunning import ClientReminder
from facturier.ops.collections.drafts import Attacher
from facturier.render.formal_notice import FormalNotice, Party, formal_notice_pdf
from facturier.render.reminders import french_b2b
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

FILE_NAMES = {"fr": "mise-en-demeure-{ref}.pdf", "en": "formal-notice-{ref}.pdf"}


def attacher_for(ws: Workspace, state: LedgerState, day: date) -> Attacher | None:
    """What attaches the formal notice to a last-stage draft, or None when it is off."""
    collections = ws.config.collections
    if not collections.formal_notice or collections.penalty_rate is None:
        return None
    last = max(collections.stages)
    rate = collections.penalty_rate
    issuer = ws.config.issuer
    creditor = Party(issuer.name, tuple(issuer.address), issuer.siren)

    def attach(group: ClientReminder) -> list[tuple[str, bytes]]:
        if group.stage != last:
            return []
        # A direct client has its configuration; a sheet row only what the sheet says of it.
        client, receivable = ws.clients.get(group.client), group.dues[0].receivable
        debtor = Party(client.name, tuple(client.address)) if client else Party(receivable.client_name, ())
        language = receivable.language
        notice = FormalNotice(
            creditor=creditor, debtor=debtor, day=day, group=group,
            penalty_rate=rate, late_penalty=ws.config.terms.late_penalty_for(language),
            indemnity=french_b2b(issuer.country, receivable))
        ref = group.numbers[0] if len(group.dues) == 1 else group.client
        name = FILE_NAMES.get(language, FILE_NAMES["en"]).format(ref=ref)
        return [(name, formal_notice_pdf(notice))]

    return attach
