"""Inline SVG charts for the HTML report: grouped bars and lines, written by hand.

No JavaScript and no external asset: each chart is one `<svg>` element with a `viewBox`, so
it scales with the page and prints sharply. Every text (labels, legends, tooltips) is
escaped here; the amounts are already formatted by the caller. Coordinates are floats,
computed from the Decimal amounts only to place shapes: no money is ever computed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 78, 10, 28, 26


@dataclass(frozen=True)
class Series:
    """One series: its legend, its colour, and one value per category (None: no point)."""

    name: str
    color: str
    values: Sequence[Decimal | None]


def nice_step(span: float) -> float:
    """A round tick step giving 3 to 6 ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


class _Frame:
    """The plot area, its scale and its axis."""

    def __init__(self, series: Sequence[Series], categories: int) -> None:
        values = [float(v) for s in series for v in s.values if v is not None]
        low, high = min([0.0, *values]), max([0.0, *values])
        self.step = nice_step(high - low)
        self.low = self.step * int(low // self.step) if low < 0 else 0.0
        self.high = max(self.step, self.step * -int(-high // self.step))
        self.width = WIDTH - LEFT - RIGHT
        self.height = HEIGHT - TOP - BOTTOM
        self.slot = self.width / max(categories, 1)

    def y(self, value: float) -> float:
        return TOP + self.height * (self.high - value) / (self.high - self.low)

    def axis(self, fmt_tick: Callable[[Decimal], str], categories: Sequence[str]) -> list[str]:
        """Grid lines with their tick labels, and the category labels."""
        out = []
        tick = self.low
        while tick <= self.high + self.step / 1000:
            y = self.y(tick)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
            label = escape(fmt_tick(Decimal(repr(round(tick, 6)))))
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
            tick += self.step
        for i, name in enumerate(categories):
            x = LEFT + self.slot * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="tick">{escape(name)}</text>')
        return out


def _legend(series: Sequence[Series]) -> list[str]:
    out, x = [], LEFT
    for s in series:
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{escape(s.color)}"/>')
        out.append(f'<text x="{x + 16}" y="16" class="legend">{escape(s.name)}</text>')
        x += 24 + 7 * len(s.name)
    return out


def _svg(title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
                  f'class="chart"><title>{escape(title)}</title>{body}</svg>')


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series],
              fmt_tick: Callable[[Decimal], str], fmt_value: Callable[[Decimal], str]) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series."""
    frame = _Frame(series, len(categories))
    parts = frame.axis(fmt_tick, categories)
    bar = frame.slot * 0.8 / max(len(series), 1)
    zero = frame.y(0)
    for i in range(len(categories)):
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            y = frame.y(float(value))
            x = LEFT + frame.slot * (i + 0.1) + bar * j
            top, height = min(y, zero), abs(zero - y)
            tip = escape(f"{s.name}, {categories[i]}: {fmt_value(value)}")
            parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                         f'fill="{escape(s.color)}"><title>{tip}</title></rect>')
    parts.append(f'<line x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - RIGHT}" y2="{zero:.1f}" class="axis"/>')
    return _svg(title, parts + _legend(series))


def line_chart(title: str, categories: Sequence[str], series: Sequence[Series],
               fmt_tick: Callable[[Decimal], str], fmt_value: Callable[[Decimal], str]) -> Markup:
    """Lines with a dot per known value (a gap where the value is None)."""
    frame = _Frame(series, len(categories))
    parts = frame.axis(fmt_tick, categories)
    for s in series:
        points: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                if len(points) > 1:
                    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{escape(s.color)}" '
                                 'stroke-width="2"/>')
                points = []
                continue
            x, y = LEFT + frame.slot * (i + 0.5), frame.y(float(value))
            points.append(f"{x:.1f},{y:.1f}")
            tip = escape(f"{s.name}, {categories[i]}: {fmt_value(value)}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{escape(s.color)}"><title>{tip}</title>'
                         '</circle>')
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{escape(s.color)}" '
                         'stroke-width="2"/>')
    return _svg(title, parts + _legend(series))
