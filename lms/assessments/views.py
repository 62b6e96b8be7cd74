"""Taking assessments: overview, start or resume, answer, save, submit, and the result.

Only the learner who owns an attempt may open or submit it; anyone else gets a 404, so attempt
ids reveal nothing. The page never carries answer keys before submission.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from lms.assessments import operations
from lms.assessments.models import Assessment, Attempt
from lms.assessments.questions import public_view, question_type
from lms.core.timeutil import as_utc, now_utc
from lms.extensions import db
from lms.feedback.operations import item_reports
from lms.security import signed_in

bp = Blueprint("assessments", __name__)


def _assessment(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment.retired_at is not None:
        abort(404)
    return assessment


def _own_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    return attempt


@bp.route("/assessments/<int:assessment_id>")
@signed_in
def overview(assessment_id: int) -> str:
    assessment = _assessment(assessment_id)
    state = operations.summary(current_user.id, assessment)
    attempts = db.session.scalars(
        select(Attempt)
        .where(Attempt.user_id == current_user.id, Attempt.assessment_id == assessment.id)
        .order_by(Attempt.number)
    ).all()
    return render_template(
        "assessments/overview.html",
        assessment=assessment,
        state=state,
        attempts=attempts,
        form=FlaskForm(),
        questions=len([q for q in assessment.questions if q.retired_at is None]),
    )


@bp.route("/assessments/<int:assessment_id>/start", methods=["POST"])
@signed_in
def start(assessment_id: int) -> Response:
    assessment = _assessment(assessment_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        attempt = operations.start_attempt(current_user.id, assessment)
    except operations.AttemptRefused as refusal:
        flash(str(refusal), "error")
        return redirect(url_for("assessments.overview", assessment_id=assessment.id))
    db.session.commit()
    return redirect(url_for("assessments.attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
@signed_in
def attempt(attempt_id: int) -> str | Response:
    attempt = _own_attempt(attempt_id)
    if attempt.status != "in-progress":
        return redirect(url_for("assessments.result", attempt_id=attempt.id))
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("action") == "save":
            try:
                operations.save_answers(attempt, request.form)
            except operations.AttemptRefused as refusal:
                flash(str(refusal), "error")
            else:
                db.session.commit()
                flash("Your answers are saved. You can come back to them later.", "success")
            return redirect(url_for("assessments.attempt", attempt_id=attempt.id))
        outcome = operations.submit_attempt(attempt, request.form)
        db.session.commit()
        if outcome.late:
            flash("The time limit had passed: the answers saved before it were graded.", "warning")
        for note in outcome.notes:
            flash(note, "success")
        return redirect(url_for("assessments.result", attempt_id=attempt.id))
    seconds_left = None
    if attempt.deadline_at is not None:
        seconds_left = max(0, int((as_utc(attempt.deadline_at) - now_utc()).total_seconds()))
    items = [
        {"position": item.position, "view": public_view(item.snapshot), "answer": item.answer}
        for item in attempt.items
    ]
    return render_template(
        "assessments/attempt.html",
        attempt=attempt,
        items=items,
        form=form,
        seconds_left=seconds_left,
    )


@bp.route("/attempts/<int:attempt_id>/result")
@signed_in
def result(attempt_id: int) -> str | Response:
    attempt = _own_attempt(attempt_id)
    if attempt.status == "in-progress":
        return redirect(url_for("assessments.attempt", attempt_id=attempt.id))
    state = operations.summary(current_user.id, attempt.assessment)
    show = operations.feedback_visible(attempt, state)
    # Feedback `never` (pre- and post-assessments): the score alone. Even right/wrong per
    # question would tell a learner who remembers their answer what the key was.
    score_only = attempt.assessment.feedback == "never"
    items = []
    for item in [] if score_only else attempt.items:
        kind = question_type(item.snapshot["type"])
        entry = {
            "id": item.id,
            "position": item.position,
            "view": public_view(item.snapshot),
            "credit": item.credit,
            "points": item.snapshot.get("points", 1),
        }
        if show:
            chosen = item.answer if isinstance(item.answer, list) else [item.answer]
            entry.update(
                your_answer=kind.describe_answer(item.snapshot, item.answer),
                key=kind.describe_key(item.snapshot),
                explanation=item.snapshot.get("explanation"),
                option_feedback=[
                    option["feedback"]
                    for option in item.snapshot.get("options", [])
                    if option.get("feedback") and option["id"] in chosen
                ],
            )
        items.append(entry)
    return render_template(
        "assessments/result.html",
        attempt=attempt,
        state=state,
        items=items,
        show_feedback=show,
        score_only=score_only,
        change=operations.change_since_pre(attempt),
        form=FlaskForm(),
        reports=item_reports(current_user.id, list(attempt.items)),
    )
