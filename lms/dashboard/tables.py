"""The dashboard's tables: each section's figures as one `lms.core.exports.Table`, with the link
behind every count (the learners behind it). The page renders these tables and the downloads
export the very same objects, so a download cannot disagree with the page.

A table that pages (long lists) is built for one page on the page and whole for a download.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for

from lms.charts import Chart, bar_chart
from lms.core.exports import DATE, INTEGER, PERCENT, Cell, Column, Table
from lms.core.paging import Page, paginate_rows
from lms.core.timeutil import local_date
from lms.dashboard import data
from lms.demonstrations.operations import sla_days
from lms.extensions import db
from lms.metrics.definitions import METRICS, NOT_COMPUTABLE
from lms.metrics.views import STATUS_WORDS, basis

#: Rows per page of the dashboard's long tables and of the drill-down lists.
PER_PAGE = 50

STATUS_LABELS = {
    "on-track": "On track",
    "at-risk": "At risk",
    "overdue": "Overdue",
    "waiting-for-content": "Waiting for content",
    "active": "Active",
    "inactive": "Inactive",
    "pending": "Not evaluated yet",
    "withdrawn": "Withdrawn",
}


@dataclass
class Section:
    """One table of the page: the table, its page (for a paged one) and its chart."""

    table: Table
    page: Page | None = None
    chart: Chart | None = None


class Links:
    """Links that keep the filters: to the learners behind a figure, and to downloads."""

    def __init__(
        self, filters: data.Filters, manage: Callable[[Any], str | None] | None = None
    ) -> None:
        self.args = filters.as_args()
        #: The enrolment page of a row, where the viewer manages its cohort (None: no link).
        self.manage = manage or (lambda row: None)

    def drill(self, figure: str, value: Any) -> str:
        return url_for("dashboard.learners", figure=figure, value=str(value), **self.args)

    def count(self, number: int, figure: str, value: Any) -> Cell | int:
        """A count linked to the learners behind it (a zero has nobody behind it)."""
        return Cell(number, self.drill(figure, value)) if number else number


def _paged(rows: list[Any], page_number: int | None) -> tuple[list[Any], Page | None]:
    """A page of `rows` (all of them, and no page, for a download)."""
    if page_number is None:
        return rows, None
    pages = max(1, -(-len(rows) // PER_PAGE))
    number = max(1, min(page_number, pages))
    start = (number - 1) * PER_PAGE
    chosen = rows[start : start + PER_PAGE]
    return chosen, Page(items=chosen, number=number, per_page=PER_PAGE, total=len(rows))


# The sections ---------------------------------------------------------------------------------


def status_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    total = figures.enrolments
    rows = [
        [
            Cell(STATUS_LABELS[status], css=f"badge status-{status}"),
            links.count(number, "status", status),
            number / total if total else None,
        ]
        for status, number in figures.status_counts.items()
    ]
    table = Table(
        "status",
        "Enrolments by status",
        [Column("Status"), Column("Enrolments", INTEGER), Column("Share", PERCENT)],
        rows,
    )
    return Section(table)


def funnel_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    rows = []
    for row in figures.funnel:
        stage = row.stage.id
        rows.append(
            [
                row.stage.name,
                links.count(row.reached, "stage-reached", stage),
                _maybe_count(links, row.on_time, "stage-on-time", stage),
                _maybe_count(links, row.late, "stage-late", stage),
                row.on_time / (row.on_time + row.late)
                if row.on_time is not None and (row.on_time + (row.late or 0))
                else None,
                links.count(row.now, "stage-now", stage),
            ]
        )
    table = Table(
        "funnel",
        "Stage funnel: enrolments that reached each stage",
        [
            Column("Stage"),
            Column("Reached", INTEGER),
            Column("On time", INTEGER),
            Column("Late", INTEGER),
            Column("On time, share", PERCENT),
            Column("In it now", INTEGER),
        ],
        rows,
    )
    chart = None
    if page is not None and figures.funnel:
        chart = bar_chart(
            [{"stage": r.stage.name, "reached": r.reached} for r in figures.funnel],
            category="stage",
            value="reached",
            title="Stage funnel",
            category_title="Stage",
            value_title="Enrolments that reached it",
        )
    return Section(table, chart=chart)


def _maybe_count(links: Links, number: int | None, figure: str, value: Any) -> Any:
    return None if number is None else links.count(number, figure, value)


def risk_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    statement = data.risk_rows(figures.view)
    if page is None:
        found = db.session.execute(statement).all()
        paged = None
    else:
        paged = paginate_rows(statement, page, PER_PAGE)
        found = paged.items
    rows = [
        [
            Cell(row.name, links.manage(row)),
            row.team or "",
            row.cohort,
            row.programme,
            row.stage,
            Cell(
                STATUS_LABELS.get(row.stage_status, row.stage_status),
                css=f"badge status-{row.stage_status}",
            ),
            row.status_reason or "",
            row.gate_met,
            row.gate_total,
        ]
        for row in found
    ]
    table = Table(
        "at-risk",
        "At-risk and overdue enrolments, overdue first",
        [
            Column("Learner"),
            Column("Team"),
            Column("Cohort"),
            Column("Programme"),
            Column("Stage"),
            Column("Status"),
            Column("Why"),
            Column("Gate met", INTEGER),
            Column("Gate total", INTEGER),
        ],
        rows,
    )
    return Section(table, paged)


def modules_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    shown, paged = _paged(figures.modules, page)
    rows = [
        [
            m.title,
            m.programme,
            m.stage,
            links.count(m.enrolled, "module-enrolled", m.module_id),
            links.count(m.completed, "module-completed", m.module_id),
            links.count(m.started, "module-started", m.module_id),
            links.count(m.not_started, "module-not-started", m.module_id),
            m.completed_share,
        ]
        for m in shown
    ]
    table = Table(
        "modules",
        "Progress by module",
        [
            Column("Module"),
            Column("Programme"),
            Column("Stage"),
            Column("Enrolled", INTEGER),
            Column("Completed", INTEGER),
            Column("In progress", INTEGER),
            Column("Not started", INTEGER),
            Column("Completed, share", PERCENT),
        ],
        rows,
    )
    return Section(table, paged)


def scores_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    shown, paged = _paged(figures.assessments, page)
    purposes = {"pre": "Baseline", "post": "Follow-up", "module": "Module"}
    rows = []
    for a in shown:
        rows.append(
            [
                a.title,
                a.programme,
                purposes.get(a.purpose, a.purpose),
                links.count(a.learners, "assessment-learners", a.assessment_id),
                a.mean,
                links.count(a.passed, "assessment-passed", a.assessment_id),
                *[
                    links.count(number, "score-band", f"{a.assessment_id}:{index}")
                    for index, number in enumerate(a.bands)
                ],
            ]
        )
    table = Table(
        "scores",
        "Assessment scores: each learner's best graded attempt",
        [
            Column("Assessment"),
            Column("Programme"),
            Column("Kind"),
            Column("Learners", INTEGER),
            Column("Mean best score", PERCENT),
            Column("Passed", INTEGER),
            *[Column(label, INTEGER) for _, label in data.SCORE_BANDS],
        ],
        rows,
    )
    chart = None
    if page is not None:
        counts = figures.score_bands
        if any(counts):
            chart = bar_chart(
                [
                    {"band": label, "learners": number}
                    for (_, label), number in zip(data.SCORE_BANDS, counts, strict=True)
                ],
                category="band",
                value="learners",
                title="Best scores across the assessments in view",
                category_title="Best score",
                value_title="Learner × assessment best scores",
            )
    return Section(table, paged, chart)


def queue_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    rows = [
        [
            q.stage.name,
            links.count(q.grading, "queue-grading", q.stage.id),
            links.count(q.moderation, "queue-moderation", q.stage.id),
            links.count(q.late, "queue-late", q.stage.id),
            figures.oldest_age(q),
        ]
        for q in figures.queue
    ]
    table = Table(
        "demonstrations",
        "Demonstrations waiting, by stage",
        [
            Column("Stage"),
            Column("Waiting for grading", INTEGER),
            Column("Waiting for moderation", INTEGER),
            Column(f"Waiting more than {sla_days()} working days", INTEGER),
            Column("Oldest, working days", INTEGER),
        ],
        rows,
    )
    return Section(table)


def _team_value(team_id: int | None) -> str:
    return data.NO_TEAM if team_id is None else str(team_id)


def adoption_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    columns = figures.adoption_columns
    rows = []
    total = figures.adoption_total
    for row in [*figures.adoption, total]:
        team = "all" if row is total else _team_value(row.team_id)
        cells: list[Any] = [
            row.name,
            links.count(row.learners, "adoption-learners", team),
            links.count(row.pairs, "adoption-taught", team),
            links.count(row.adopted, "adoption-using", team),
            row.rate,
        ]
        for feature in columns:
            cell = row.cells.get(feature.id)
            if cell is None or not cell.taught:
                cells.append(None)
            else:
                cells.append(
                    Cell(
                        cell.rate,
                        links.drill("adoption-taught", f"{team}:{feature.id}"),
                        note=f"{cell.adopted} of {cell.taught}",
                        css=f"heat heat-{_heat(cell.rate)}",
                    )
                )
        rows.append(cells)
    table = Table(
        "adoption",
        "Feature adoption by team: learners taught each feature who used it in the window",
        [
            Column("Team"),
            Column("Learners", INTEGER),
            Column("Pairs taught", INTEGER),
            Column("Pairs in use", INTEGER),
            Column("Adoption rate", PERCENT),
            *[Column(feature.title, PERCENT, 0) for feature in columns],
        ],
        rows,
    )
    return Section(table)


def _heat(rate: float | None) -> int:
    """The shade of a cell: 0 for none, then 1-4 by quarter."""
    if not rate:
        return 0
    return max(1, min(4, -(-int(rate * 100) // 25)))


def adoption_learners_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    """For one team (the team filter): learners × features, uses in the window."""
    statement = figures.adoption_learner_statement()
    if page is None:
        chosen = [tuple(row) for row in db.session.execute(statement)]
        paged = None
    else:
        paged = paginate_rows(statement, page, PER_PAGE)
        chosen = [tuple(row) for row in paged.items]
    learners = figures.learner_adoption(chosen)
    columns = figures.adoption_columns
    rows = []
    for learner in learners:
        cells: list[Any] = [
            learner.name,
            len(learner.taught),
            learner.taught_used,
            learner.breadth,
            learner.total_uses,
        ]
        for feature in columns:
            uses = learner.uses.get(feature.id, 0)
            taught = feature.id in learner.taught
            if not taught and not uses:
                cells.append(None)
            else:
                css = "heat " + ("taught-unused" if taught and not uses else "")
                cells.append(Cell(uses, css=css.strip(), note=None if taught else "not taught"))
        rows.append(cells)
    table = Table(
        "adoption-learners",
        "Feature use by learner: uses of each feature in the window",
        [
            Column("Learner"),
            Column("Features taught", INTEGER),
            Column("Taught and used", INTEGER),
            Column("Breadth", PERCENT),
            Column("Uses", INTEGER),
            *[Column(feature.title, INTEGER) for feature in columns],
        ],
        rows,
    )
    return Section(table, paged)


CHANGE_TITLES = {metric: METRICS[metric].name for metric in data.CHANGE_METRICS}


def change_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    """The change metrics over all the teams in view: value, target, status, basis."""
    pooled = figures.change[0].results
    rows = []
    for metric in data.CHANGE_METRICS:
        result = pooled[metric]
        rows.append(
            [
                CHANGE_TITLES[metric],
                result.value,
                result.target,
                Cell(STATUS_WORDS[result.status], css=f"badge rag-{result.status}"),
                (basis(result) or "")
                if result.computable
                else f"Not computable: {result.reason or 'no data'}",
            ]
        )
    table = Table(
        "change",
        "Change against baseline, all teams in view",
        [
            Column("Metric"),
            Column("Change", PERCENT),
            Column("Target", PERCENT),
            Column("Status"),
            Column("Basis"),
        ],
        rows,
    )
    return Section(table)


def change_teams_section(figures: data.Figures, links: Links, page: int | None) -> Section:
    """The change metrics team by team (each against its own baseline)."""
    rows = []
    for row in figures.change[1:]:
        cells: list[Any] = [Cell(row.name, links.drill("team", _team_value(row.team_id)))]
        for metric in data.CHANGE_METRICS:
            result = row.results[metric]
            cells.append(
                Cell(
                    result.value,
                    note=_short_reason(result),
                    css=f"rag-cell rag-{result.status}" if result.computable else None,
                )
            )
        rows.append(cells)
    table = Table(
        "change-teams",
        "Change against baseline, team by team",
        [Column("Team"), *[Column(CHANGE_TITLES[m], PERCENT) for m in data.CHANGE_METRICS]],
        rows,
    )
    return Section(table)


def _short_reason(result: Any) -> str | None:
    if result.status == NOT_COMPUTABLE:
        return "not computable: " + (result.reason or "no data")
    return STATUS_WORDS[result.status]


SECTIONS: dict[str, Callable[[data.Figures, Links, int | None], Section]] = {
    "status": status_section,
    "funnel": funnel_section,
    "at-risk": risk_section,
    "modules": modules_section,
    "scores": scores_section,
    "demonstrations": queue_section,
    "adoption": adoption_section,
    "adoption-learners": adoption_learners_section,
    "change": change_section,
    "change-teams": change_teams_section,
}
#: The tables that page on the dashboard, each with its own page argument.
PAGED = ("at-risk", "modules", "scores", "adoption-learners")


def page_argument(name: str) -> str:
    return f"{name.replace('-', '_')}_page"


# Drill-downs ----------------------------------------------------------------------------------


def drill_table(
    drill: data.DrillDown,
    rows: list[Any],
    manage_link: Callable[[Any], str | None] | None,
    zone: str = "UTC",
) -> Table:
    """The rows of a drill-down list as a table (names and status; never answers); times as
    days in time zone `zone`."""
    if drill.kind == data.ENROLMENTS:
        body = []
        for row in rows:
            status = data.shown_status(row.status, row.stage_status)
            href = manage_link(row) if manage_link else None
            body.append(
                [
                    Cell(row.name, href),
                    row.team or "",
                    row.cohort,
                    row.programme,
                    row.stage,
                    Cell(STATUS_LABELS.get(status, status), css=f"badge status-{status}"),
                    (row.withdrawal_reason if status == data.WITHDRAWN else row.status_reason)
                    or "",
                ]
            )
        columns = [
            Column("Learner"),
            Column("Team"),
            Column("Cohort"),
            Column("Programme"),
            Column("Stage"),
            Column("Status"),
            Column("Why"),
        ]
    elif drill.kind == data.SUBMISSIONS:
        body = [
            [
                row.name,
                row.team or "",
                row.title,
                row.programme,
                row.stage,
                "Moderation" if row.status == "moderation" else "Grading",
                local_date(row.submitted_at, zone) if row.submitted_at else None,
            ]
            for row in rows
        ]
        columns = [
            Column("Learner"),
            Column("Team"),
            Column("Demonstration"),
            Column("Programme"),
            Column("Stage"),
            Column("Waiting for"),
            Column("Sent", DATE),
        ]
    elif drill.kind == data.PAIRS:
        body = [
            [row.name, row.team or "", Cell(row.feature, note=row.platform), row.uses]
            for row in rows
        ]
        columns = [
            Column("Learner"),
            Column("Team"),
            Column("Feature"),
            Column("Uses in the window", INTEGER),
        ]
    else:
        body = [[row.name, row.team or ""] for row in rows]
        columns = [Column("Learner"), Column("Team")]
    return Table("learners", drill.title, columns, body)
