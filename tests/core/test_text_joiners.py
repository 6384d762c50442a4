"""A joiner between two letters is a name's spelling wherever a name is shown: the terminal
(`core.text.printable`), a reminder draft (`render.reminders.visible`) and the FEC export."""

from __future__ import annotations

import pytest

from facturier.core.text import printable
from facturier.ops.reports.fec import clean
from facturier.render.reminders import visible

PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


@pytest.mark.parametrize("show", [printable, visible, clean])
def test_a_joiner_between_letters_is_kept(show: object) -> None:
    assert show(PERSIAN) == PERSIAN  # type: ignore[operator]


def test_a_joiner_elsewhere_is_still_shown_or_dropped() -> None:
    assert printable("VIR\u200c") == "VIR\\u200c"
    assert visible("VIR\u200c") == "VIR<U+200C>"
    assert clean("VIR\u200c 42") == "VIR 42"
