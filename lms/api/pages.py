"""Web pages for API tokens: personal tokens on the account page, service tokens for admins.
A new token is shown once, in the response to the form that made it (never in a flash message,
which would put it in the session cookie)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from lms.api import tokens
from lms.api.models import SCOPES, ApiToken
from lms.core.forms import CheckboxesField, choices
from lms.extensions import db
from lms.security import roles_required, signed_in

bp = Blueprint("tokens", __name__)


class TokenForm(FlaskForm):
    name = StringField(
        "What is it for?",
        validators=[DataRequired(), Length(max=120)],
        description="For example: “CRM nightly usage export”.",
    )
    scopes = CheckboxesField("Scopes", validators=[DataRequired(message="Choose a scope.")])
    submit = SubmitField("Create token")


def _page(kind: str, template: str) -> str | Response:
    allowed = tokens.allowed_scopes(current_user) if kind == "personal" else set(SCOPES)
    form = TokenForm()
    form.scopes.choices = choices([(s, f"{s}: {SCOPES[s]}") for s in sorted(allowed)])
    issued = None
    if allowed and form.validate_on_submit():
        try:
            issued = tokens.issue(current_user, form.name.data, form.scopes.data, kind=kind)
        except tokens.TokenError as problem:
            form.scopes.errors.append(str(problem))
        else:
            db.session.commit()
    statement = select(ApiToken).where(ApiToken.kind == kind).order_by(ApiToken.id.desc())
    if kind == "personal":
        statement = statement.where(ApiToken.owner_id == current_user.id)
    return render_template(
        template,
        form=form,
        issued=issued,
        allowed=allowed,
        kind=kind,
        tokens=db.session.scalars(statement).all(),
        revoke_form=FlaskForm(),
    )


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def personal() -> str | Response:
    return _page("personal", "tokens/tokens.html")


@bp.route("/admin/tokens", methods=["GET", "POST"])
@roles_required("admin")
def service() -> str | Response:
    return _page("service", "tokens/tokens.html")


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
def revoke(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    mine = token is not None and token.kind == "personal" and token.owner_id == current_user.id
    if token is None or not (mine or current_user.has_role("admin")):
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    tokens.revoke(token)
    db.session.commit()
    flash(f"Token “{token.name}” is revoked: it no longer works.", "success")
    return redirect(url_for("tokens.personal" if token.kind == "personal" else "tokens.service"))
