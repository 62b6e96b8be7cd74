"""The leadership report as files: the board paper's HTML (stylesheet inside) and its PDF, laid
out by WeasyPrint with vector charts. Needs an application context (templates, figures)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template

from lms.core.pdf import html_to_pdf
from lms.core.timeutil import as_utc
from lms.metrics.views import STATUS_WORDS
from lms.organisation.operations import organisation
from lms.reports.leadership import (
    SHORT_NAMES,
    STEPS,
    LeadershipReport,
    Progress,
    build_report,
)

LAYOUT_STEP = "Laying out the pages"
#: Building a PDF: the report's steps, then the layout.
PDF_STEPS = len(STEPS) + 1


def report_context(report: LeadershipReport) -> dict[str, Any]:
    """What the report templates need besides the report (web page and paper alike)."""
    zone = ZoneInfo(organisation().time_zone)
    prepared = as_utc(report.generated_at).astimezone(zone)
    return {
        "report": report,
        "status_words": STATUS_WORDS,
        "short_names": SHORT_NAMES,
        "prepared": prepared.strftime("%d %b %Y, %H:%M %Z"),
    }


def paper_html(report: LeadershipReport) -> str:
    return render_template("reports/paper.html", **report_context(report))


def pdf_bytes(html: str) -> bytes:
    """The paper as a PDF: the charts are inline SVG and the stylesheet is inside."""
    return html_to_pdf(html)


def file_stem(report: LeadershipReport) -> str:
    return f"adoption-success-report-{report.as_of.isoformat()}"


def build_pdf(
    as_of: date | None = None, *, progress: Progress | None = None
) -> tuple[LeadershipReport, str, bytes]:
    """The report for `as_of`, its paper HTML and its PDF."""

    def told(step: str, done: int, total: int) -> None:
        if progress is not None:
            progress(step, done, PDF_STEPS)

    report = build_report(as_of, progress=told)
    if progress is not None:
        progress(LAYOUT_STEP, len(STEPS), PDF_STEPS)
    html = paper_html(report)
    return report, html, pdf_bytes(html)


def write_files(folder: Path, as_of: date | None = None) -> list[Path]:
    """Write the report's PDF and HTML into `folder` (made if missing); returns their paths."""
    report, html, pdf = build_pdf(as_of)
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    pdf_path = folder / f"{stem}.pdf"
    html_path = folder / f"{stem}.html"
    pdf_path.write_bytes(pdf)
    html_path.write_text(html, encoding="utf-8")
    return [pdf_path, html_path]
