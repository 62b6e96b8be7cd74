"""The figures the seeds name (thresholds, horizons, targets), read once from figures.yaml.

Code asks for a figure by its key, `figure("feature-adoption-rate")`; nothing else in the code
base writes these numbers down.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app

from lms.curricula.files import parse_file
from lms.curricula.schema import Figures, Target


class FiguresError(RuntimeError):
    pass


@lru_cache(maxsize=4)
def load_figures(path: str) -> Figures:
    parsed = parse_file(Path(path))
    if parsed.problems or not isinstance(parsed.document, Figures):
        raise FiguresError("; ".join(str(p) for p in parsed.problems) or f"{path}: not figures")
    return parsed.document


def figures_path() -> str:
    return str(Path(current_app.config["LMS_CURRICULA_PATH"]) / "figures.yaml")


def target(key: str) -> Target:
    figures = load_figures(figures_path()).figures
    if key not in figures:
        raise KeyError(f"figures.yaml has no figure {key!r}")
    return figures[key]


def figure(key: str) -> float:
    return target(key).value
