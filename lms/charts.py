"""Charts for web pages and PDFs alike: Vega-Lite specifications built with altair, rendered to
SVG by vl-convert (both offline), so the chart a leader sees in the browser is the one printed
in the board paper.

Every chart carries a title, labelled axes, a text alternative (`alt`) and the table of its
data (`table`), so it can be read without seeing it. `svg` is safe to put inline in a page: it
is re-serialised from a whitelist of SVG elements and attributes (no scripts, no `style`
attributes the Content-Security-Policy would refuse, no links out), and every text from the
data is escaped on the way.

    chart = line_chart(rows, x="day", y="value", title="Proficiency", x_title="Day",
                       y_title="Enrolments proficient", value_format=PERCENT, target=0.95)
    chart.svg, chart.alt, chart.table.rows

Rows may carry a note for the table (`note`, for example what a value rests on) and be marked
to stay in the table but out of the drawing (`hide`, with `hidden_why` said in the text
alternative): a value resting on one person should neither be drawn as a trend nor stretch the
scale of the others.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 (parses SVG we generated ourselves, see _sanitise)
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from markupsafe import Markup

PERCENT = "percent"
NUMBER = "number"

#: Red/amber/green and the two statuses without a colour judgement, as the stylesheet has them.
STATUS_COLOURS: dict[str, str] = {
    "green": "#1d6b3a",
    "amber": "#c98a00",
    "red": "#a3231b",
    "no-target": "#4f5b6b",
    "not-computable": "#9aa5b4",
}
LINE_COLOUR = "#1f4e8c"
TARGET_COLOUR = "#1b2430"
FONT = "DejaVu Sans, Verdana, sans-serif"

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

#: What a rendered chart may contain; everything else is dropped.
ALLOWED_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "path",
        "rect",
        "line",
        "circle",
        "ellipse",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "title",
        "desc",
        "defs",
        "clipPath",
        "linearGradient",
        "radialGradient",
        "stop",
    }
)
ALLOWED_ATTRIBUTES = frozenset(
    {
        "aria-hidden",
        "aria-label",
        "aria-roledescription",
        "class",
        "clip-path",
        "cx",
        "cy",
        "d",
        "display",
        "dx",
        "dy",
        "fill",
        "fill-opacity",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "gradientUnits",
        "height",
        "id",
        "offset",
        "opacity",
        "pointer-events",
        "points",
        "r",
        "role",
        "rx",
        "ry",
        "stop-color",
        "stop-opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
        "transform",
        "viewBox",
        "width",
        "x",
        "x1",
        "x2",
        "y",
        "y1",
        "y2",
    }
)
#: `url(#id)` is the only reference allowed in an attribute value: nothing is fetched.
_URL = re.compile(r"url\(\s*([^)]*)\)", re.IGNORECASE)
_chart_numbers = itertools.count(1)


@dataclass(frozen=True)
class ChartTable:
    """The data of a chart as text, for a table beside it (and for screen readers)."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    title: str
    alt: str
    table: ChartTable
    #: The Vega-Lite specification (None for a chart without data).
    spec: dict[str, Any] | None
    #: Sanitised SVG markup, safe to put inline; empty for a chart without data.
    svg: Markup

    @property
    def empty(self) -> bool:
        return not self.table.rows


# Formatting -----------------------------------------------------------------------------------


def format_value(value: float | None, value_format: str = NUMBER) -> str:
    """A value as the chart's table and text alternative show it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value_format == PERCENT:
        return f"{value * 100:.1f}%".replace(".0%", "%")
    return f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"


def _format_x(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y, %H:%M")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


def _x_data(value: Any) -> Any:
    """Dates as ISO days, which Vega reads as UTC midnight (see the utc scale below)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _axis_format(value_format: str) -> str:
    return ".0%" if value_format == PERCENT else "~s"


# Building -------------------------------------------------------------------------------------


#: Vega-Lite configuration shared by every chart (fonts, colours, no frame around the plot).
CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "labelColor": "#1b2430"},
    "title": {"fontSize": 13, "anchor": "start", "color": "#1b2430"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "right"},
}


def _spec(alt_lib: Any, layers: list[Any], title: str, width: int, height: int) -> dict[str, Any]:
    """One layered chart as a Vega-Lite dict. Layers are listed flat and the configuration
    added as a plain dict: altair deep-copies nested charts, which is most of the cost."""
    chart = alt_lib.LayerChart(layer=layers, title=title, width=width, height=height)
    spec = chart.to_dict(validate=False)
    spec["config"] = CONFIG
    return spec


def line_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    x: str,
    y: str,
    title: str,
    x_title: str,
    y_title: str,
    series: str | None = None,
    value_format: str = NUMBER,
    target: float | None = None,
    target_label: str = "Target",
    note: str | None = None,
    note_title: str = "Note",
    hide: str | None = None,
    hidden_why: str = "",
    alt: str | None = None,
    width: int = 460,
    height: int = 180,
) -> Chart:
    """A line over dates (or any ordered x), one line per `series` value if given, with an
    optional dashed target line. `rows` are mappings holding the keys `x`, `y` (and `series`);
    rows whose y is None are left out of the line and shown as "—" in the table. With `note`,
    the table has a column `note_title` of each row's `note` text; rows whose `hide` key is true
    are in the table but not drawn, and the text alternative says how many and `hidden_why`."""
    import altair as alt_lib

    ordered = sorted(rows, key=lambda row: row[x])
    table = ChartTable(
        caption=f"{title}: the data",
        columns=tuple(
            ([_series_title(series)] if series else [])
            + [x_title, y_title]
            + ([note_title] if note else [])
        ),
        rows=tuple(
            tuple(
                ([str(row[series])] if series else [])
                + [_format_x(row[x]), format_value(row[y], value_format)]
                + ([str(row.get(note) or "")] if note else [])
            )
            for row in ordered
        ),
    )
    valued = [row for row in ordered if row[y] is not None]
    plotted = [row for row in valued if not (hide and row.get(hide))]
    hidden = len(valued) - len(plotted)
    if alt:
        description = alt
    elif hidden and not plotted:
        description = f"{title}: no point to draw." + _hidden_alt(hidden, "point", hidden_why)
    else:
        description = _line_alt(
            plotted, x, y, series, title, x_title, y_title, value_format, target, target_label
        ) + _hidden_alt(hidden, "point", hidden_why)
    if not plotted:
        return Chart(title, description, table, None, Markup(""))
    temporal = isinstance(plotted[0][x], date)
    frame = alt_lib.Data(
        values=[
            {
                "x": _x_data(row[x]),
                "y": float(row[y]),
                "series": str(row[series]) if series else y_title,
            }
            for row in plotted
        ]
    )
    if temporal:
        x_encoding = alt_lib.X(
            "x:T",
            title=x_title,
            scale=alt_lib.Scale(type="utc"),
            axis=alt_lib.Axis(format="%d %b %Y", labelAngle=0, tickCount=6, grid=False),
        )
    else:
        x_encoding = alt_lib.X(
            "x:O", title=x_title, sort=None, axis=alt_lib.Axis(labelAngle=0, grid=False)
        )
    y_scale = _y_scale(alt_lib, [float(row[y]) for row in plotted], target, value_format)
    encoding: dict[str, Any] = {
        "x": x_encoding,
        "y": alt_lib.Y(
            "y:Q",
            title=y_title,
            scale=y_scale,
            axis=alt_lib.Axis(format=_axis_format(value_format)),
        ),
    }
    if series:
        encoding["color"] = alt_lib.Color("series:N", title=_series_title(series))
    if series:
        line = alt_lib.Chart(frame).mark_line(point=alt_lib.OverlayMarkDef(filled=True, size=40))
    else:
        line = alt_lib.Chart(frame).mark_line(
            point=alt_lib.OverlayMarkDef(filled=True, size=40, color=LINE_COLOUR),
            color=LINE_COLOUR,
        )
    layers = [line.encode(**encoding)]
    if target is not None:
        layers.extend(_target_rule(alt_lib, target, target_label, "y", value_format))
    spec = _spec(alt_lib, layers, title, width, height)
    return Chart(title, description, table, spec, render_svg(spec, label=description))


def bar_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    category: str,
    value: str,
    title: str,
    category_title: str,
    value_title: str,
    value_format: str = NUMBER,
    target: float | None = None,
    target_label: str = "Target",
    status: str | None = None,
    status_labels: Mapping[str, str] | None = None,
    note: str | None = None,
    note_title: str = "Note",
    hide: str | None = None,
    hidden_why: str = "",
    alt: str | None = None,
    width: int = 400,
) -> Chart:
    """Horizontal bars, one per category in the order given; bars coloured by the row's
    `status` key (red/amber/green) when named, and an optional dashed target line. Rows whose
    value is None are listed in the table and left out of the bars. `note`, `note_title`,
    `hide` and `hidden_why` as for `line_chart`."""
    import altair as alt_lib

    labels = dict(status_labels or {})
    columns = (
        [category_title, value_title]
        + (["Status"] if status else [])
        + ([note_title] if note else [])
    )
    table = ChartTable(
        caption=f"{title}: the data",
        columns=tuple(columns),
        rows=tuple(
            tuple(
                [str(row[category]), format_value(row[value], value_format)]
                + ([labels.get(row[status], str(row[status]))] if status else [])
                + ([str(row.get(note) or "")] if note else [])
            )
            for row in rows
        ),
    )
    valued = [row for row in rows if row[value] is not None]
    plotted = [row for row in valued if not (hide and row.get(hide))]
    hidden = len(valued) - len(plotted)
    if alt:
        description = alt
    elif hidden and not plotted:
        description = f"{title}: no bar to draw." + _hidden_alt(
            hidden, _in_sentence(category_title), hidden_why
        )
    else:
        description = _bar_alt(
            plotted,
            [row for row in rows if row[value] is None or not (hide and row.get(hide))],
            category,
            value,
            title,
            category_title,
            value_title,
            value_format,
            target,
        ) + _hidden_alt(hidden, _in_sentence(category_title), hidden_why)
    if not plotted:
        return Chart(title, description, table, None, Markup(""))
    frame = alt_lib.Data(
        values=[
            {
                "category": str(row[category]),
                "value": float(row[value]),
                "status": labels.get(row[status], row[status]) if status else "",
            }
            for row in plotted
        ]
    )
    x_scale = _y_scale(alt_lib, [float(row[value]) for row in plotted], target, value_format)
    encoding: dict[str, Any] = {
        "y": alt_lib.Y(
            "category:N", title=category_title, sort=None, axis=alt_lib.Axis(labelLimit=160)
        ),
        "x": alt_lib.X(
            "value:Q",
            title=value_title,
            scale=x_scale,
            axis=alt_lib.Axis(format=_axis_format(value_format)),
        ),
    }
    if status:
        present = [key for key in STATUS_COLOURS if key in {row[status] for row in plotted}]
        encoding["color"] = alt_lib.Color(
            "status:N",
            title="Status",
            legend=alt_lib.Legend(orient="bottom", direction="horizontal"),
            scale=alt_lib.Scale(
                domain=[labels.get(key, key) for key in present],
                range=[STATUS_COLOURS[key] for key in present],
            ),
        )
        bars = alt_lib.Chart(frame).mark_bar(height={"band": 0.7})
    else:
        bars = alt_lib.Chart(frame).mark_bar(height={"band": 0.7}, color=LINE_COLOUR)
    layers = [bars.encode(**encoding)]
    if target is not None:
        layers.extend(_target_rule(alt_lib, target, target_label, "x", value_format))
    height = max(60, 22 * len(plotted))
    spec = _spec(alt_lib, layers, title, width, height)
    return Chart(title, description, table, spec, render_svg(spec, label=description))


def _series_title(series: str) -> str:
    return series.replace("_", " ").capitalize()


def _y_scale(alt_lib: Any, values: list[float], target: float | None, value_format: str) -> Any:
    """Percentages from 0 to at least 100% (or the target), so a small change is not drawn as
    a large one; other values from zero when all are positive."""
    top = max([*values, target or 0.0])
    bottom = min([*values, 0.0])
    if value_format == PERCENT:
        return alt_lib.Scale(domain=[min(bottom, 0.0), max(top, 1.0)], nice=True)
    return alt_lib.Scale(zero=True, nice=True)


def _target_rule(
    alt_lib: Any, target: float, label: str, axis: str, value_format: str
) -> list[Any]:
    text = f"{label} {format_value(target, value_format)}"
    frame = alt_lib.Data(values=[{"target": target, "label": text}])
    # Channel objects rather than "field:type" strings, which altair parses at some cost.
    level = (alt_lib.Y if axis == "y" else alt_lib.X)("target:Q")
    rule = (
        alt_lib.Chart(frame)
        .mark_rule(strokeDash=[5, 4], color=TARGET_COLOUR, strokeWidth=1.5)
        .encode(level)
    )
    # The label sits at the line's start, where a trend's oldest (least watched) points are;
    # on bars, at the top.
    if axis == "y":
        across = alt_lib.XValue(0)
        placement = {"align": "left", "baseline": "bottom", "dx": 3, "dy": -3}
    else:
        across = alt_lib.YValue(0)
        placement = {"align": "left", "baseline": "top", "dx": 4, "dy": 2}
    words = (
        alt_lib.Chart(frame)
        .mark_text(color=TARGET_COLOUR, fontSize=10, **placement)
        .encode(level, across, alt_lib.Text("label:N"))
    )
    return [rule, words]


# Text alternatives ----------------------------------------------------------------------------


def _in_sentence(label: str) -> str:
    """An axis title inside a sentence: "Feature adoption" → "feature adoption", but "ROI"
    and "KPI change" keep their capitals."""
    first, space, rest = label.partition(" ")
    return (first if first.isupper() else first.lower()) + space + rest


def _line_alt(
    plotted: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    series: str | None,
    title: str,
    x_title: str,
    y_title: str,
    value_format: str,
    target: float | None,
    target_label: str,
) -> str:
    if not plotted:
        return f"{title}: no data to chart yet."
    parts = [f"{title}. Line chart of {_in_sentence(y_title)} by {_in_sentence(x_title)}."]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in plotted:
        groups.setdefault(str(row[series]) if series else "", []).append(row)
    for name, points in groups.items():
        first, last = points[0], points[-1]
        values = [float(p[y]) for p in points]
        who = f"{name}: " if name else ""
        if len(points) == 1:
            parts.append(
                f"{who}one point, {format_value(first[y], value_format)} on {_format_x(first[x])}."
            )
            continue
        parts.append(
            f"{who}{len(points)} points from {_format_x(first[x])} "
            f"({format_value(first[y], value_format)}) to {_format_x(last[x])} "
            f"({format_value(last[y], value_format)}); lowest "
            f"{format_value(min(values), value_format)}, highest "
            f"{format_value(max(values), value_format)}."
        )
    if target is not None:
        parts.append(
            f"A dashed line marks the {_in_sentence(target_label)} of "
            f"{format_value(target, value_format)}."
        )
    return " ".join(parts)


def _hidden_alt(count: int, what: str, why: str) -> str:
    """The sentence a text alternative adds for rows left out of the drawing; `why` qualifies
    them ("resting on fewer than 5 learners")."""
    if not count:
        return ""
    things = what if count == 1 else f"{what}s"
    return f" Not drawn, in the table only: {count} {things}{' ' + why if why else ''}."


def _bar_alt(
    plotted: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    category: str,
    value: str,
    title: str,
    category_title: str,
    value_title: str,
    value_format: str,
    target: float | None,
) -> str:
    if not plotted:
        return f"{title}: no values to chart."
    high = max(plotted, key=lambda row: row[value])
    low = min(plotted, key=lambda row: row[value])
    parts = [
        f"{title}. Bar chart of {_in_sentence(value_title)} for {len(plotted)} "
        f"{_in_sentence(category_title)}(s):",
        f"highest {high[category]} ({format_value(high[value], value_format)}),",
        f"lowest {low[category]} ({format_value(low[value], value_format)}).",
    ]
    missing = len(rows) - len(plotted)
    if missing:
        parts.append(f"{missing} without a value.")
    if target is not None:
        parts.append(f"A dashed line marks the target of {format_value(target, value_format)}.")
    return " ".join(parts)


# Rendering and sanitising ---------------------------------------------------------------------


def render_svg(spec: Mapping[str, Any], *, label: str | None = None) -> Markup:
    """The Vega-Lite `spec` as sanitised SVG markup, labelled `label` for screen readers."""
    return sanitise_svg(_vega_svg(json.dumps(spec, sort_keys=True, default=str)), label=label)


@lru_cache(maxsize=256)
def _vega_svg(spec: str) -> str:
    """Drawing is most of a chart's cost; a page shown again draws the same specifications."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def sanitise_svg(text: str, *, label: str | None = None, id_prefix: str | None = None) -> Markup:
    """SVG re-serialised from a whitelist: unknown elements are dropped with their content,
    unknown attributes (event handlers, `style`, `href`) dropped, ids prefixed so that two
    charts on one page cannot collide, and references limited to `url(#id)` within the chart.
    Text is escaped by the serialiser, so a label from data cannot become markup."""
    root = ET.fromstring(text)  # noqa: S314 (our own renderer's output; no entities expanded)
    if _local(root.tag) != "svg":
        raise ValueError("not an SVG document")
    prefix = id_prefix or f"chart{next(_chart_numbers)}-"
    _clean(root, prefix)
    root.set("class", "chart-svg")
    root.set("role", "img")
    root.set("focusable", "false")
    if label:
        root.set("aria-label", label)
    ET.register_namespace("", SVG_NS)
    markup = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return Markup(markup)  # noqa: S704 (rebuilt from the whitelist just above)


def _clean(element: ET.Element, prefix: str) -> None:
    for name in list(element.attrib):
        local = _local(name)
        value = element.attrib.pop(name)
        if local not in ALLOWED_ATTRIBUTES or local.lower().startswith("on"):
            continue
        if local == "id":
            value = prefix + value
        elif "url(" in value.lower():
            value = _URL.sub(lambda m: _local_reference(m.group(1), prefix), value)
        element.set(local, value)
    for child in list(element):
        if not isinstance(child.tag, str) or _local(child.tag) not in ALLOWED_ELEMENTS:
            element.remove(child)
            continue
        if _draws_nothing(child):
            element.remove(child)  # less for a browser or the PDF engine to walk through
            continue
        child.tag = f"{{{SVG_NS}}}{_local(child.tag)}"
        _clean(child, prefix)


#: Vega's empty backgrounds and foregrounds of axes and groups.
_EMPTY_PATHS = frozenset({"", "M0,0h0v0h0Z"})


def _draws_nothing(element: ET.Element) -> bool:
    if element.get("display") == "none":
        return True
    return _local(element.tag) == "path" and element.get("d", "").strip() in _EMPTY_PATHS


def _local_reference(target: str, prefix: str) -> str:
    target = target.strip().strip("'\"")
    if not re.fullmatch(r"#[A-Za-z0-9_.:-]+", target):
        return "none"
    return f"url(#{prefix}{target[1:]})"
