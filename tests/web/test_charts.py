"""The server-side SVG charts: one mark per value, data on every mark, escaped labels, valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from web.charts import Series, _scale_max, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _marks(svg: str, tag: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # the chart is well-formed XML, or this raises
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") in {"bar", "point"}]


def test_aging_bars_one_per_nonzero_bucket_with_their_values() -> None:
    labels = ["current", "1–30", "31–60", "61–90", "90+"]
    svg = bar_chart("Aging", labels, [Series("EUR", [Decimal("1200.50"), 300, 0, None, 75])])
    bars = _marks(svg, "rect")
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("current", "1200.50"),
        ("1–30", "300"),
        ("90+", "75"),
    ]
    heights = {b.get("data-label"): float(b.get("height") or 0) for b in bars}
    assert heights["current"] > heights["1–30"] > heights["90+"] > 0


def test_stacked_bars_sit_on_each_other() -> None:
    svg = bar_chart("Sent", ["W1"], [Series("level 1", [4]), Series("level 2", [2])], stacked=True)
    first, second = _marks(svg, "rect")
    bottom_of_second = float(second.get("y") or 0) + float(second.get("height") or 0)
    assert bottom_of_second == pytest.approx(float(first.get("y") or 0), abs=0.2)


def test_line_points_and_gaps() -> None:
    labels = [f"2026-{m:02d}" for m in range(1, 13)]
    values: list[Decimal | int | None] = [30, 32, 35, None, 40, 38, 36, 34, 33, 31, 30, 29]
    svg = line_chart("DSO", labels, [Series("DSO", values)])
    points = _marks(svg, "circle")
    assert len(points) == 11
    assert "2026-04" not in {p.get("data-label") for p in points}
    root = ET.fromstring(svg)
    assert len([e for e in root.iter(f"{SVG}polyline")]) == 2  # the gap breaks the line in two


def test_labels_and_names_are_escaped() -> None:
    svg = bar_chart("<b>", ["<script>"], [Series("a&b", [1])])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)


def test_mismatched_series_is_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        bar_chart("x", ["a", "b", "c"], [Series("s", [1, 2])])


@pytest.mark.parametrize(
    ("top", "bound"), [(0, 1), (Decimal("0.4"), 1), (7, 10), (12, 20), (450, 500), (1001, 2000), (99999, 100000)]
)
def test_axis_is_rounded_up(top: Decimal | int, bound: int) -> None:
    assert _scale_max([Decimal(top)]) == bound
