"""Certificate pages: the learner's list, the PDF and the Open Badges credential (holder,
their cohort's manager, admins), the public verify page, and revocation (admins)."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.accounts.models import User
from lms.certificates import operations
from lms.certificates.badge import credential
from lms.certificates.models import Certificate
from lms.core.downloads import attachment
from lms.core.paging import paginate
from lms.core.pdf import html_to_pdf
from lms.core.search import contains
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.organisation.operations import organisation
from lms.security import public, roles_required, signed_in

bp = Blueprint("certificates", __name__)


def _viewable(code: str) -> Certificate:
    certificate = operations.by_code(code)
    if certificate is None or not operations.may_view(current_user, certificate):
        abort(404)
    return certificate


@bp.route("/certificates")
@signed_in
def mine() -> str:
    rows = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == current_user.id)
            .order_by(Certificate.issued_at.desc())
        )
    )
    return render_template("certificates/mine.html", certificates=rows, now=now_utc())


def verify_url(certificate: Certificate) -> str:
    from flask import current_app

    return current_app.config["LMS_BASE_URL"].rstrip("/") + url_for(
        "certificates.verify", code=certificate.code
    )


@bp.route("/certificates/<code>.pdf")
@signed_in
def pdf(code: str) -> Response:
    certificate = _viewable(code)
    html = render_template(
        "certificates/certificate_pdf.html",
        c=certificate,
        state=certificate.state(now_utc()),
        verify_url=verify_url(certificate),
        organisation=organisation(),
    )
    return attachment(html_to_pdf(html), "application/pdf", f"certificate-{certificate.code}.pdf")


@bp.route("/certificates/<code>/badge.json")
@signed_in
def badge(code: str) -> Response:
    certificate = _viewable(code)
    if certificate.revoked_at is not None:
        # A credential file outlives any page: never hand out one for a revoked achievement.
        abort(410, description="This certificate was revoked; there is no badge for it.")
    document = credential(certificate, certificate.user.email, organisation().name)
    return attachment(
        json.dumps(document, indent=2, ensure_ascii=False),
        "application/ld+json",
        f"badge-{certificate.code}.json",
    )


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a lookup that changes nothing

    code = StringField("Verification code", validators=[DataRequired(), Length(max=40)])


@bp.route("/verify")
@public
def verify_lookup() -> Any:
    form = VerifyForm(request.args)
    if request.args and form.validate():
        return redirect(url_for(".verify", code=form.code.data.strip()))
    return render_template("certificates/verify_lookup.html", form=form)


@bp.route("/verify/<code>")
@public
def verify(code: str) -> Any:
    certificate = operations.by_code(code)
    if certificate is None:
        abort(404, description="No certificate has this code. Check it against the certificate.")
    if certificate.code != code:
        return redirect(url_for(".verify", code=certificate.code))
    # Nothing beyond name, programme, stage and date: the page is public.
    return render_template(
        "certificates/verify.html", c=certificate, state=certificate.state(now_utc())
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Reason for revoking",
        validators=[DataRequired(message="Give the reason."), Length(max=1000)],
        render_kw={"rows": 3},
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name, e-mail or code", validators=[Length(max=120)])


@bp.route("/admin/certificates")
@roles_required("admin")
def admin_list() -> str:
    form = SearchForm(request.args)
    statement = (
        select(Certificate)
        .options(selectinload(Certificate.user))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    text = (form.q.data or "").strip()
    if text:
        statement = statement.join(User, User.id == Certificate.user_id).where(
            or_(
                contains(User.name, text),
                contains(User.email, text),
                contains(Certificate.code, text),
            )
        )
    page = paginate(statement, request.args.get("page", 1, type=int), per_page=50)
    return render_template(
        "certificates/admin.html",
        form=form,
        page=page,
        now=now_utc(),
        args={"q": text} if text else {},
    )


@bp.route("/admin/certificates/<int:certificate_id>", methods=["GET", "POST"])
@roles_required("admin")
def admin_certificate(certificate_id: int) -> Any:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        abort(404)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            operations.revoke(certificate, current_user, form.reason.data)
        except operations.RevokeError as problem:
            form.reason.errors.append(str(problem))
        else:
            db.session.commit()
            flash(f"Certificate {certificate.code} revoked.", "success")
            return redirect(url_for(".admin_certificate", certificate_id=certificate.id))
    return render_template(
        "certificates/admin_certificate.html",
        c=certificate,
        form=form,
        state=certificate.state(now_utc()),
        verify_url=verify_url(certificate),
    )
