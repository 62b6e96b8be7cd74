"""Figures in prose: lessons, questions and briefs write
`{{ figure('forecast-variance-threshold') }}` and readers see "15%", taken from figures.yaml at
load time, so a threshold is written once.

A ratio reads as a percentage, a currency amount with its sign and thousands separators, days
and minutes with their unit; counts and points as plain numbers.
"""

from __future__ import annotations

import re
from typing import Any

from lms.curricula.schema import Target

FIGURE_CALL = re.compile(r"\{\{\s*figure\(\s*['\"](?P<id>[a-z0-9-]+)['\"]\s*\)\s*\}\}")
CURRENCY_SIGN = "$"


def _number(value: float) -> str:
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


def format_figure(target: Target) -> str:
    """A figure as a reader sees it: 0.15 ratio → "15%", 50000 currency → "$50,000"."""
    if target.unit == "ratio":
        return f"{_number(target.value * 100)}%"
    if target.unit == "currency":
        return f"{CURRENCY_SIGN}{_number(target.value)}"
    if target.unit in ("days", "minutes"):
        unit = target.unit if target.value != 1 else target.unit[:-1]
        return f"{_number(target.value)} {unit}"
    return _number(target.value)


def render_figures(text: str, figures: dict[str, Target]) -> tuple[str, list[str]]:
    """`text` with each figure call replaced; also the ids of figures it names that do not exist."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        target = figures.get(match.group("id"))
        if target is None:
            unknown.append(match.group("id"))
            return match.group(0)
        return format_figure(target)

    return FIGURE_CALL.sub(replace, text), unknown


def render_tree(
    data: Any, figures: dict[str, Target], location: tuple[Any, ...] = ()
) -> tuple[Any, list[tuple[tuple[Any, ...], str]]]:
    """Every string in a raw document with its figures filled in, and the (location, id) of
    each unknown figure, so the error can name the file and line."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(data, str):
        if "{{" not in data:
            return data, problems
        text, unknown = render_figures(data, figures)
        problems.extend((location, figure_id) for figure_id in unknown)
        return text, problems
    if isinstance(data, dict):
        result = {}
        for key, value in data.items():
            result[key], found = render_tree(value, figures, (*location, key))
            problems.extend(found)
        return result, problems
    if isinstance(data, list):
        items = []
        for index, value in enumerate(data):
            item, found = render_tree(value, figures, (*location, index))
            items.append(item)
            problems.extend(found)
        return items, problems
    return data, problems
