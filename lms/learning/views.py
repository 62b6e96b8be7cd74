"""Module pages: objectives, the lesson by section with progress, the module's knowledge check,
what remains to complete it, and previous and next along the learner's path. A module in
preparation (no lesson yet) shows its objectives and says so: nothing on it completes it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from lms.assessments.models import Assessment
from lms.assessments.operations import summary
from lms.core.downloads import attachment
from lms.curricula.glossary import linker, live_terms
from lms.curricula.models import Module, Programme, Stage
from lms.extensions import db
from lms.feedback.operations import section_reports
from lms.learning import operations
from lms.learning.path import path_order
from lms.security import signed_in
from lms.templating import render_markdown

bp = Blueprint("learning", __name__)


def _load(programme_slug: str, module_slug: str) -> tuple[Programme, Module]:
    programme = db.session.scalar(
        select(Programme)
        .where(Programme.slug == programme_slug, Programme.retired_at.is_(None))
        .options(
            selectinload(Programme.modules).selectinload(Module.sections),
            selectinload(Programme.modules).selectinload(Module.objectives),
            selectinload(Programme.modules).selectinload(Module.job_aids),
        )
    )
    if programme is None:
        abort(404)
    module = next(
        (m for m in programme.modules if m.slug == module_slug and m.retired_at is None), None
    )
    if module is None:
        abort(404)
    return programme, module


def _section_bodies(sections: list) -> dict[int, Markup]:
    """Each section's lesson as HTML, its glossary terms linked at their first use."""
    if not sections:
        return {}
    link = linker(live_terms())
    href = url_for("curricula.glossary")
    return {s.id: link.link(str(render_markdown(s.body)), href) for s in sections}


def _minutes_left(module: Module, sections: list, done: set[int]) -> int | None:
    """The author's estimate scaled by the words of the sections not done yet."""
    if not module.estimated_minutes or not sections:
        return None
    words = {s.id: len(s.body.split()) for s in sections}
    total = sum(words.values()) or 1
    left = sum(count for sid, count in words.items() if sid not in done)
    return -(-module.estimated_minutes * left // total) if left else 0


@bp.route("/learn/<programme_slug>/<module_slug>")
@signed_in
def module(programme_slug: str, module_slug: str) -> str:
    programme, module = _load(programme_slug, module_slug)
    stages = list(db.session.scalars(select(Stage).order_by(Stage.position)))
    ordered = path_order(programme.modules, {s.id: s.position for s in stages})
    index = ordered.index(module)
    state = operations.module_state(current_user.id, module)
    # Any live assessment of the module is linked (the knowledge check is the one that counts).
    assessment = state.check or db.session.scalar(
        select(Assessment).where(Assessment.module_id == module.id, Assessment.retired_at.is_(None))
    )
    return render_template(
        "learning/module.html",
        programme=programme,
        module=module,
        stage=next((s for s in stages if s.id == module.stage_id), None),
        state=state,
        sections=state.sections,
        done=state.done,
        completed=state.completed,
        assessment=assessment,
        attempts=summary(current_user.id, assessment) if assessment else None,
        previous=ordered[index - 1] if index > 0 else None,
        following=ordered[index + 1] if index + 1 < len(ordered) else None,
        form=FlaskForm(),
        reports=section_reports(current_user.id, state.sections),
        bodies=_section_bodies(state.sections),
        job_aids=[aid for aid in module.job_aids if aid.retired_at is None],
        minutes_left=_minutes_left(module, state.sections, state.done),
        prerequisites=[
            m
            for slug in module.prerequisites or []
            for m in programme.modules
            if m.slug == slug and m.retired_at is None
        ],
    )


@bp.route("/learn/<programme_slug>/<module_slug>/job-aids/<aid_slug>")
@signed_in
def job_aid(programme_slug: str, module_slug: str, aid_slug: str) -> Response:
    """A template to download, as the module page lists it (content anyone signed in may read,
    like the lesson itself)."""
    _programme, module = _load(programme_slug, module_slug)
    aid = next((a for a in module.job_aids if a.slug == aid_slug and a.retired_at is None), None)
    if aid is None:
        abort(404)
    return attachment(aid.content.encode("utf-8"), f"{aid.mimetype}; charset=utf-8", aid.filename)


@bp.route("/learn/<programme_slug>/<module_slug>/sections/<section_slug>/done", methods=["POST"])
@signed_in
def section_done(programme_slug: str, module_slug: str, section_slug: str) -> Response:
    programme, module = _load(programme_slug, module_slug)
    section = next((s for s in operations.live_sections(module) if s.slug == section_slug), None)
    if section is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    module_completed = operations.mark_section_done(current_user.id, section)
    db.session.commit()
    if module_completed:
        flash(f"Module completed: {module.title}.", "success")
    target = url_for("learning.module", programme_slug=programme.slug, module_slug=module.slug)
    return redirect(f"{target}#section-{section.slug}")
