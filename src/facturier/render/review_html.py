"""The review page of `remind`: its lines (plain data) to one self-contained HTML page.

Like the report (`report_html.py`): inline CSS, no script, font or image, a
Content-Security-Policy that forbids any request, every text through Jinja2's autoescaping
(client names and subjects are hostile input). The page's figures are also embedded as
JSON (`<script type="application/json" id="facturier-review">`, data that never runs).
"""

from __future__ import annotations

import json
from typing import Any

from facturier.render.report_html import environment


def render_review(view: dict[str, Any]) -> str:
    """The page from `ops.collections.review`'s view: drafts and invoices left alone, in order.

    The embedded JSON holds every draft line whole: a later run of the same day reads the
    drafts made earlier back from it (`ops.collections.review.earlier_drafts`)."""
    figures = {"day": view["day"], "dry_run": view["dry_run"], "store": view["store"],
               "drafts": [{k: v for k, v in line.items() if k != "amount_value"} for line in view["drafts"]],
               "left_alone": view["left_alone"]}
    # A `<` could end the script element early (`</script>`, `<!--`): JSON allows it escaped.
    data = json.dumps(figures, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    return environment().get_template("review.html.j2").render(**view, figures=data)
