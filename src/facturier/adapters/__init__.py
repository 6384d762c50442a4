"""The outside world: bank statements, mail, the accredited platform, Google, QuickBooks, Slack."""

from __future__ import annotations

import math


def retry_after(value: object, default: float) -> float:
    """The seconds an HTTP `Retry-After` header asks for (a negative number is 0); `default` when
    it is absent, a date, or not a finite number. Each caller bounds the wait its own way."""
    try:
        asked = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return max(asked, 0.0) if math.isfinite(asked) else default
