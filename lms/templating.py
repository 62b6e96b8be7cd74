"""Template helpers: navigation by role, dates in the viewer's time zone, Markdown made safe."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import bleach
import markdown as markdown_lib
from flask import Flask, request
from flask_login import current_user
from markupsafe import Markup

from lms.core.timeutil import as_utc

ALLOWED_TAGS = [
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "caption",
    "sup",
    "sub",
]
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "th": ["scope"], "td": ["align"]}


def render_markdown(source: str) -> Markup:
    """Markdown to HTML, then sanitised: curriculum text is content, never trusted as markup."""
    html = markdown_lib.markdown(source or "", extensions=["tables", "sane_lists"])
    clean = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=["http", "https", "mailto"],
        strip=True,
    )
    # A lesson's wide table scrolls in its own box, so it never widens the page on a phone.
    # Added after sanitising: the wrapper is ours, never the author's.
    clean = clean.replace("<table>", '<div class="table-wrap" tabindex="0"><table>').replace(
        "</table>", "</table></div>"
    )
    return Markup(clean)  # noqa: S704 (sanitised by bleach just above)


NAVIGATION = [
    # (endpoint, label, roles that see it; None = every signed-in user)
    ("main.home", "Home", None),
    ("curricula.catalogue", "Catalogue", None),
    ("curricula.framework", "Framework", None),
    ("utilisation.me", "My platform use", {"learner"}),
    ("certificates.mine", "Certificates", {"learner"}),
    ("transcripts.mine", "Transcript", {"learner"}),
    ("demonstrations.queue", "Grading", {"manager", "admin"}),
    ("records.endorse", "Recognition", None),
    ("cohorts.index", "Cohorts", {"manager", "admin"}),
    ("cohorts.people", "People", {"manager", "admin"}),
    ("dashboard.index", "Dashboard", {"manager", "leader", "admin"}),
    ("utilisation.index", "Adoption", {"manager", "leader", "admin"}),
    ("records.index", "Records", {"manager", "leader", "admin"}),
    ("metrics.index", "Metrics", {"manager", "leader", "admin"}),
    ("reports.leadership", "Report", {"leader", "admin"}),
    ("admin.index", "Admin", {"admin"}),
]


def _navigation() -> list[dict[str, Any]]:
    if not current_user.is_authenticated:
        return []
    items = []
    listed = {endpoint for endpoint, _, _ in NAVIGATION}
    # A page that is not an entry itself (a cohort, a user) belongs to its blueprint's first one.
    section = next((e for e, _, _ in NAVIGATION if e.split(".")[0] == request.blueprint), None)
    for endpoint, label, roles in NAVIGATION:
        if roles is None or current_user.has_role(*roles):
            blueprint_prefix = endpoint.split(".")[0]
            current = request.endpoint == endpoint or (
                request.endpoint not in listed and endpoint == section
            )
            items.append(
                {"endpoint": endpoint, "label": label, "current": current, "bp": blueprint_prefix}
            )
    return items


def _user_zone() -> str:
    """The viewer's time zone, looked up once per request."""
    from lms.organisation.operations import organisation

    if current_user.is_authenticated and current_user.time_zone:
        return current_user.time_zone
    return organisation().time_zone


def _organisation_name() -> str:
    from lms.organisation.operations import organisation

    return organisation().name


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    zone = _user_zone()
    return as_utc(value).astimezone(ZoneInfo(zone)).strftime(fmt)


def format_date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.globals["navigation"] = _navigation
    app.jinja_env.globals["organisation_name"] = _organisation_name
    from lms.learning.path import stage_window_text

    app.jinja_env.globals["stage_window_text"] = stage_window_text
