"""Charts drawn on the server as SVG: no CDN, no JavaScript, the page works offline.

Each chart is a plain ``<svg>`` whose marks carry their data (``data-label``, ``data-value``), so
a browser test can count bars and points and a screen reader gets a ``<title>`` per mark. The
numbers are always shown as a table beside the chart too (the templates do that); the SVG is a
picture of the table, never the only place a figure lives.

Colours and sizes are presentation attributes (``fill=``), not ``style=``: the CSP forbids inline
styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

#: One colour per series, readable on white and distinguishable without colour vision (lightness steps).
PALETTE = ("#1f5f99", "#e08a1e", "#2f8f5b", "#b03a48", "#6b4c9a", "#7a7a7a")

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48


@dataclass(frozen=True, slots=True)
class Series:
    """A named row of values, one per label (None: no value for that label)."""

    name: str
    values: Sequence[Decimal | int | None]


def _scale_max(values: Sequence[Decimal]) -> Decimal:
    """A round upper bound for the axis (1, 2 or 5 times a power of ten), never zero."""
    top = max(values, default=Decimal(0))
    if top <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(top))) - 1)
    for step in (1, 2, 5, 10):
        bound = magnitude * step
        if bound >= top:
            return bound
    return magnitude * 10  # pragma: no cover (the loop ends at 10 x magnitude > top)


def _number(value: Decimal | int) -> str:
    text = f"{Decimal(value):,.2f}"
    return text[:-3] if text.endswith(".00") else text


def _frame(title: str, body: list[str], labels: Sequence[str], top: Decimal, kind: str) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):  # gridlines and axis values at 0, 25, 50, 75, 100 %
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3ea"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6b7b">'
            f"{escape(_number(top * i / 4))}</text>"
        )
    slot = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = LEFT + slot * (i + 0.5)
        parts.append(
            f'<text class="axis-label" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
            f'fill="#1d2733">{escape(label)}</text>'
        )
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text and attribute value above went through escape())


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = False) -> Markup:
    """Bars per label: side by side per series, or stacked (messages per week by level).

    Every drawn bar is a ``<rect class="bar">`` with ``data-series``, ``data-label`` and
    ``data-value``; a zero or missing value draws no bar.
    """
    _check(labels, series)
    values = [[Decimal(v or 0) for v in s.values] for s in series]
    if stacked:
        top = _scale_max([sum((col[i] for col in values), Decimal(0)) for i in range(len(labels))])
    else:
        top = _scale_max([v for col in values for v in col])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    width = slot * 0.7 if stacked else slot * 0.7 / max(len(series), 1)
    body: list[str] = []
    for i, label in enumerate(labels):
        base = Decimal(0)
        for j, s in enumerate(series):
            value = values[j][i]
            if value <= 0:
                continue
            height = float(value / top) * plot_h
            x = LEFT + slot * i + slot * 0.15 + (0 if stacked else width * j)
            y = TOP + plot_h - float(base / top) * plot_h - height
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}" data-series="{escape(s.name)}" data-label="{escape(label)}" '
                f'data-value="{value}"><title>{escape(s.name)}, {escape(label)}: {escape(_number(value))}</title>'
                "</rect>"
            )
            if stacked:
                base += value
    body.extend(_legend(series))
    return _frame(title, body, labels, top, "bar")


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """A line per series (DSO per month); each known value is a ``<circle class="point">``.

    A missing value breaks the line (no point, no segment across the gap).
    """
    _check(labels, series)
    known = [Decimal(v) for s in series for v in s.values if v is not None]
    top = _scale_max(known)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    body: list[str] = []
    for j, s in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        run: list[str] = []
        for i, raw in enumerate(s.values):
            if raw is None:
                body.extend(_polyline(run, colour))
                run = []
                continue
            value = Decimal(raw)
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - float(value / top) * plot_h
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" '
                f'data-series="{escape(s.name)}" data-label="{escape(labels[i])}" data-value="{value}">'
                f"<title>{escape(s.name)}, {escape(labels[i])}: {escape(_number(value))}</title></circle>"
            )
        body.extend(_polyline(run, colour))
    body.extend(_legend(series))
    return _frame(title, body, labels, top, "line")


def _polyline(points: list[str], colour: str) -> list[str]:
    if len(points) < 2:
        return []
    return [f'<polyline class="line" points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>']


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts = []
    for j, s in enumerate(series):
        x = LEFT + j * 110
        parts.append(
            f'<rect class="legend" x="{x}" y="{HEIGHT - 18}" width="10" height="10" '
            f'fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 9}" font-size="11" fill="#1d2733">{escape(s.name)}</text>'
        )
    return parts


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
