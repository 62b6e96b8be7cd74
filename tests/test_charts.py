"""Charts (lms/charts.py): each has a title, labelled axes, a text alternative and its data
table; the SVG is safe to inline (nothing from the data becomes markup) and needs nothing the
Content-Security-Policy refuses (no scripts, no style attributes or elements)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405
from datetime import date

import pytest

from lms.charts import (
    NUMBER,
    PERCENT,
    bar_chart,
    format_value,
    line_chart,
    sanitise_svg,
)

HOSTILE = '<script>alert("x")</script>" onload="alert(1)'


def svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def assert_inline_safe(svg: str) -> None:
    """Parsed as a browser would: no script or style element, no event handler, no style or
    link attribute anywhere; text from the data stays text."""
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in {"script", "style", "foreignObject", "a", "image", "use"}, tag
        for name in element.attrib:
            local = name.rsplit("}", 1)[-1]
            assert not local.lower().startswith("on") and local not in {"style", "href"}, name
    assert "<script" not in svg.lower() and "<style" not in svg and " style=" not in svg


def drawn_values(chart, key: str) -> list:
    """The values a chart draws (altair lifts the data of a lone layer to the top)."""
    layer = chart.spec["layer"][0]
    return [row[key] for row in (layer.get("data") or chart.spec["data"])["values"]]


def test_rows_marked_hidden_stay_in_the_table_but_neither_drawn_nor_scaled() -> None:
    """One learner's 500% must not set the scale of the others (it would run to 500%)."""
    rows = [
        {"day": date(2026, 11, 22), "value": 5.0, "basis": "n=1, too few", "too_few": True},
        {"day": date(2026, 11, 29), "value": 0.6, "basis": "5 learners", "too_few": False},
        {"day": date(2026, 12, 6), "value": 0.577, "basis": "10 learners", "too_few": False},
    ]
    kwargs = {
        "x": "day",
        "y": "value",
        "title": "Decision quality",
        "x_title": "Date",
        "y_title": "Decision quality",
        "value_format": PERCENT,
        "note": "basis",
        "note_title": "Based on",
    }
    chart = line_chart(
        rows, hide="too_few", hidden_why="resting on fewer than 5 learners", **kwargs
    )
    assert chart.table.columns == ("Date", "Decision quality", "Based on")
    assert chart.table.rows[0] == ("22 Nov 2026", "500%", "n=1, too few")
    assert drawn_values(chart, "y") == [0.6, 0.577]
    assert chart.spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]
    assert chart.alt.startswith(
        "Decision quality. Line chart of decision quality by date. 2 points"
    )
    assert chart.alt.endswith(
        "Not drawn, in the table only: 1 point resting on fewer than 5 learners."
    )
    # Without `hide` the fluke is drawn and stretches the scale to 500%.
    drawn = line_chart(rows, **kwargs)
    assert drawn.spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, 5.0]
    # Nothing left to draw: the text says so, the table keeps the figure.
    only = line_chart(rows[:1], hide="too_few", hidden_why="resting on too few", **kwargs)
    assert str(only.svg) == "" and only.table.rows == (("22 Nov 2026", "500%", "n=1, too few"),)
    assert only.alt == (
        "Decision quality: no point to draw. Not drawn, in the table only: 1 point resting on "
        "too few."
    )
    bars = bar_chart(
        [
            {"team": "Demand Generation", "value": 1.4, "too_few": True},
            {"team": "Field Marketing", "value": 0.077, "too_few": False},
            {"team": "Ops", "value": None, "too_few": True},  # no value: listed as before
        ],
        category="team",
        value="value",
        title="By team",
        category_title="Team",
        value_title="Decision quality",
        value_format=PERCENT,
        hide="too_few",
        hidden_why="resting on fewer than 5 learners",
    )
    assert len(bars.table.rows) == 3
    assert drawn_values(bars, "value") == [0.077]
    assert bars.alt.endswith(
        "1 without a value. Not drawn, in the table only: 1 team resting on fewer than 5 learners."
    )


def test_a_line_chart_has_title_axes_alt_and_table() -> None:
    rows = [
        {"day": date(2026, 6, 2), "value": 0.5},
        {"day": date(2026, 6, 16), "value": 0.6},
        {"day": date(2026, 6, 30), "value": 2 / 3},
        {"day": date(2026, 6, 9), "value": None},  # no value that day: in the table only
    ]
    chart = line_chart(
        rows,
        x="day",
        y="value",
        title="Proficiency within 60 days",
        x_title="Date",
        y_title="Proficient",
        value_format=PERCENT,
        target=0.95,
    )
    assert chart.title == "Proficiency within 60 days"
    assert chart.table.columns == ("Date", "Proficient")
    assert chart.table.rows == (
        ("02 Jun 2026", "50%"),
        ("09 Jun 2026", "—"),
        ("16 Jun 2026", "60%"),
        ("30 Jun 2026", "66.7%"),
    )
    assert chart.alt == (
        "Proficiency within 60 days. Line chart of proficient by date. 3 points from 02 Jun 2026 "
        "(50%) to 30 Jun 2026 (66.7%); lowest 50%, highest 66.7%. A dashed line marks the "
        "target of 95%."
    )
    svg = str(chart.svg)
    assert_inline_safe(svg)
    texts = svg_texts(svg)
    assert "Proficiency within 60 days" in texts  # the title
    assert "Date" in texts and "Proficient" in texts  # both axes are labelled
    assert "Target 95%" in texts
    assert 'role="img"' in svg and f'aria-label="{chart.alt}"' in svg
    assert chart.spec is not None and chart.spec["title"] == "Proficiency within 60 days"


def test_a_bar_chart_colours_by_status_and_keeps_rows_without_a_value_in_its_table() -> None:
    chart = bar_chart(
        [
            {"team": "Alpha", "value": 0.5, "status": "red"},
            {"team": "Beta", "value": 1.0, "status": "green"},
            {"team": "Gamma", "value": None, "status": "not-computable"},
        ],
        category="team",
        value="value",
        title="Proficiency by team",
        category_title="Team",
        value_title="Proficient",
        value_format=PERCENT,
        target=0.95,
        status="status",
        status_labels={"red": "Below target", "green": "On target"},
    )
    assert chart.table.columns == ("Team", "Proficient", "Status")
    assert chart.table.rows == (
        ("Alpha", "50%", "Below target"),
        ("Beta", "100%", "On target"),
        ("Gamma", "—", "not-computable"),
    )
    assert "highest Beta (100%)" in chart.alt and "lowest Alpha (50%)" in chart.alt
    assert "1 without a value" in chart.alt
    svg = str(chart.svg)
    assert_inline_safe(svg)
    texts = svg_texts(svg)
    assert {"Alpha", "Beta", "Team", "Proficient", "Proficiency by team"} <= set(texts)
    assert "Gamma" not in texts  # no bar for a missing value
    assert "#a3231b" in svg and "#1d6b3a" in svg  # red and green bars


def test_text_from_data_cannot_become_markup() -> None:
    chart = bar_chart(
        [{"team": HOSTILE, "value": 3.0}],
        category="team",
        value="value",
        title=f"Title {HOSTILE}",
        category_title="Team",
        value_title="Campaigns",
    )
    svg = str(chart.svg)
    assert_inline_safe(svg)
    assert "&lt;script&gt;" in svg  # shown as text, escaped
    # The alt and table carry the raw text; templates escape them like any other string.
    assert HOSTILE in chart.alt and chart.table.rows[0][0] == HOSTILE


def test_the_sanitiser_keeps_drawing_and_drops_everything_else() -> None:
    dirty = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="10" height="10" onload="alert(1)" style="color:red">'
        "<script>alert(2)</script><style>rect{fill:red}</style>"
        '<defs><clipPath id="clip1"><rect width="5" height="5"/></clipPath></defs>'
        '<g clip-path="url(#clip1)" onclick="alert(3)"><rect width="4" height="4" '
        'fill="url(https://evil.example/x)" style="fill:red"/></g>'
        '<a xlink:href="javascript:alert(4)"><text>link</text></a>'
        "<foreignObject><div>html</div></foreignObject>"
        '<image href="https://evil.example/i.png"/>'
        '<text x="1">&lt;b&gt;kept as text&lt;/b&gt;</text></svg>'
    )
    clean = str(sanitise_svg(dirty, id_prefix="c7-"))
    assert_inline_safe(clean)
    assert "alert" not in clean and "evil" not in clean and "<image" not in clean
    assert "onload" not in clean and "onclick" not in clean
    assert "<a " not in clean and "link" not in clean  # unknown elements go with their content
    assert 'id="c7-clip1"' in clean and 'clip-path="url(#c7-clip1)"' in clean
    assert 'fill="none"' in clean  # an external reference is replaced, not followed
    assert "&lt;b&gt;kept as text&lt;/b&gt;" in clean
    with pytest.raises(ValueError):
        sanitise_svg('<html xmlns="http://www.w3.org/1999/xhtml"></html>')


def test_two_charts_on_one_page_never_share_an_id() -> None:
    def ids(chart) -> set[str]:
        return set(re.findall(r'id="([^"]+)"', str(chart.svg)))

    rows = [{"team": "A", "value": 1.0}]
    kwargs = {"category": "team", "value": "value", "category_title": "T", "value_title": "V"}
    first, second = bar_chart(rows, title="1", **kwargs), bar_chart(rows, title="2", **kwargs)
    assert not ids(first) & ids(second)


def test_a_chart_without_data_says_so_instead_of_drawing() -> None:
    chart = line_chart(
        [{"day": date(2026, 6, 30), "value": None}],
        x="day",
        y="value",
        title="Decision quality",
        x_title="Date",
        y_title="Improvement",
    )
    assert chart.empty is False  # its table still has the row
    assert str(chart.svg) == "" and chart.spec is None
    assert chart.alt == "Decision quality: no data to chart yet."
    empty = bar_chart(
        [], category="t", value="v", title="Nothing", category_title="T", value_title="V"
    )
    assert empty.empty and empty.alt == "Nothing: no values to chart."


def test_values_are_formatted_as_the_metrics_page_formats_them() -> None:
    assert format_value(2 / 3, PERCENT) == "66.7%"
    assert format_value(0.5, PERCENT) == "50%"
    assert format_value(None, PERCENT) == "—"
    assert format_value(float("nan"), PERCENT) == "—"
    assert format_value(1234.5678, NUMBER) == "1,235"
    assert format_value(12, NUMBER) == "12"
