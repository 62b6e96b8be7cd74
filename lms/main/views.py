"""Home (what each role needs first), `/healthz`, and error pages in the site's style."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from lms.curricula.models import Programme
from lms.demonstrations import operations as demonstrations
from lms.extensions import db
from lms.learning.path import build_path
from lms.main import home as home_data
from lms.security import public, signed_in

bp = Blueprint("main", __name__)


@bp.route("/")
@signed_in
def home() -> str:
    user = current_user._get_current_object()
    cards, recent = build_path(user.id) if user.has_role("learner") else ([], [])
    grading = demonstrations.waiting_summary(user) if demonstrations.is_assessor(user) else None
    return render_template(
        "main/home.html",
        home=home_data.for_user(user),
        cards=cards,
        recent=recent,
        grading=grading,
    )


@bp.route("/healthz")
@public
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
        curricula = db.session.scalar(
            select(func.count(Programme.id)).where(Programme.retired_at.is_(None))
        )
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok", curricula=curricula)


def _error_page(error: HTTPException) -> Any:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=error.name.lower().replace(" ", "_"), message=error.description), (
            error.code or 500
        )
    return render_template("errors/error.html", error=error), error.code or 500


def _internal_error(error: Exception) -> Any:
    db.session.rollback()
    if request.path.startswith("/api/"):
        return jsonify(error="internal_server_error", message="Something went wrong."), 500
    return render_template("errors/500.html"), 500


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(500, _internal_error)
