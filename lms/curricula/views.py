"""The catalogue of programmes and the adoption framework, for every signed-in user."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.curricula.models import FrameworkDocument, Module, Programme, Stage
from lms.curricula.readiness import count_ready, ready_module_ids
from lms.extensions import db
from lms.security import signed_in

bp = Blueprint("curricula", __name__)


def _live_programmes():
    return (
        select(Programme)
        .where(Programme.retired_at.is_(None))
        .options(selectinload(Programme.modules).selectinload(Module.objectives))
    )


@bp.route("/catalogue")
@signed_in
def catalogue() -> str:
    programmes = list(
        db.session.scalars(_live_programmes().order_by(Programme.kind, Programme.title))
    )
    groups = {"curriculum": [], "platform-track": []}
    for programme in programmes:
        groups.setdefault(programme.kind, []).append(programme)
    ready_ids = ready_module_ids(p.id for p in programmes)
    return render_template(
        "curricula/catalogue.html",
        groups=groups,
        ready=count_ready(programmes, ready_ids),
        ready_modules=ready_ids,
    )


@bp.route("/catalogue/<slug>")
@signed_in
def programme(slug: str) -> str:
    found = db.session.scalar(_live_programmes().where(Programme.slug == slug))
    if found is None:
        abort(404)
    return render_template("curricula/programme.html", programme=found)


@bp.route("/framework")
@signed_in
def framework() -> str:
    document = db.session.scalar(select(FrameworkDocument).order_by(FrameworkDocument.id))
    stages = list(db.session.scalars(select(Stage).order_by(Stage.position)))
    return render_template("curricula/framework.html", document=document, stages=stages)


@bp.route("/glossary")
@signed_in
def glossary() -> str:
    """Every term the lessons use, A to Z, each with an anchor the lessons link to."""
    from lms.curricula.glossary import live_terms

    terms = live_terms()
    letters: dict[str, list] = {}
    for term in sorted(terms, key=lambda t: t.term.casefold()):
        letters.setdefault(term.term[:1].upper(), []).append(term)
    return render_template("curricula/glossary.html", letters=letters, count=len(terms))
