"""Transcript pages: the signed-in learner's own (`/transcript`), and a learner's for the managers
of their cohorts and for admins (`/people/<id>/transcript`), each also as a PDF. Who may read
whose is `transcript_scope`'s decision alone; anyone else is told the page does not exist."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask_login import current_user

from lms.accounts.models import User
from lms.audit.operations import record
from lms.core.downloads import attachment
from lms.core.pdf import html_to_pdf
from lms.extensions import db
from lms.security import signed_in
from lms.transcripts.figures import name_slug
from lms.transcripts.queries import Transcript, build_transcript, transcript_scope

bp = Blueprint("transcripts", __name__)


def _transcript_of(user_id: int) -> Transcript:
    """The learner's transcript as the signed-in user may see it; "not found" otherwise, so
    nobody learns who has one."""
    learner = db.session.get(User, user_id)
    viewer = current_user._get_current_object()
    scope = transcript_scope(viewer, learner) if learner is not None else None
    if learner is None or scope is None:
        abort(404)
    return build_transcript(learner, scope)


def _page(transcript: Transcript, pdf_url: str) -> str:
    return render_template(
        "transcripts/transcript.html",
        t=transcript,
        pdf_url=pdf_url,
        own=transcript.learner_id == current_user.id,
    )


def _pdf(transcript: Transcript) -> Response:
    verify_url = current_app.config["LMS_BASE_URL"].rstrip("/") + url_for(
        "certificates.verify_lookup"
    )
    html = render_template("transcripts/transcript_pdf.html", t=transcript, verify_url=verify_url)
    filename = (
        f"transcript-{name_slug(transcript.learner_name)}-{transcript.generated_on.isoformat()}.pdf"
    )
    return attachment(html_to_pdf(html), "application/pdf", filename)


@bp.route("/transcript")
@signed_in
def mine() -> str:
    return _page(_transcript_of(current_user.id), url_for(".mine_pdf"))


@bp.route("/transcript.pdf")
@signed_in
def mine_pdf() -> Response:
    return _pdf(_transcript_of(current_user.id))


@bp.route("/people/<int:user_id>/transcript")
@signed_in
def person(user_id: int) -> str:
    return _page(_transcript_of(user_id), url_for(".person_pdf", user_id=user_id))


@bp.route("/people/<int:user_id>/transcript.pdf")
@signed_in
def person_pdf(user_id: int) -> Response:
    transcript = _transcript_of(user_id)
    response = _pdf(transcript)
    if user_id != current_user.id:
        # Someone's results leaving the system as a file: say who took them.
        record("transcript.downloaded", target_type="user", target_id=user_id)
        db.session.commit()
    return response
