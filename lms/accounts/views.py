"""Sign-in and sign-out, invitations, password resets and the user's own account page."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from lms.accounts import operations
from lms.accounts.forms import (
    ChangePasswordForm,
    ChoosePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
)
from lms.accounts.passwords import DUMMY_HASH, verify_password
from lms.audit.operations import record
from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.mail.outbox import deliver_pending
from lms.organisation.operations import organisation
from lms.security import public, safe_next_url, signed_in

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.find_user_by_email(form.email.data)
        if user is None:
            # Spend the same time as for a real account, so timing does not reveal who has one.
            verify_password(DUMMY_HASH, form.password.data)
            flash("That e-mail address and password do not match an account.", "error")
        elif not verify_password(user.password_hash, form.password.data):
            flash("That e-mail address and password do not match an account.", "error")
        elif not user.active:
            flash("This account is deactivated. Ask an administrator.", "error")
        else:
            next_url = safe_next_url(request.args.get("next"))
            session.clear()  # a fresh session at sign-in: nothing carries over
            login_user(user, remember=form.remember.data)
            user.last_login_at = now_utc()
            db.session.commit()
            return redirect(next_url or url_for("main.home"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    # A new session token ends this session and every other one on the server (old session
    # and remember-me cookies name the old token), not only the cookie in this browser.
    if current_user.is_authenticated:
        current_user.rotate_session_token()
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out, on every device.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = operations.find_user_by_email(form.email.data)
        if user is not None and user.active:
            operations.send_password_reset(user)
            db.session.commit()
            deliver_pending()
        # Same answer either way, so the form cannot be used to find out who has an account.
        flash("If that address has an account, a reset link is on its way.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


def _redeem(token: str, purpose: str, template: str, done: str) -> str | Response:
    check = operations.check_link_token(token, purpose)
    if check.token is None:
        return render_template("accounts/link_problem.html", problem=check.problem), 400
    form = ChoosePasswordForm()
    form.email_for_check = check.token.user.email
    if form.validate_on_submit():
        user = operations.redeem_link_token(check.token, form.password.data)
        db.session.commit()
        session.clear()
        login_user(user)
        flash(done, "success")
        return redirect(url_for("main.home"))
    return render_template(template, form=form, user=check.token.user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str) -> str | Response:
    return _redeem(
        token,
        operations.INVITATION,
        "accounts/accept_invitation.html",
        "Welcome! Your password is set and you are signed in.",
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> str | Response:
    return _redeem(
        token,
        operations.PASSWORD_RESET,
        "accounts/reset_password.html",
        "Your password has been changed and you are signed in.",
    )


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account() -> str | Response:
    user = current_user._get_current_object()
    org = organisation()
    profile = ProfileForm(prefix="profile", obj=user, organisation_zone=org.time_zone)
    password = ChangePasswordForm(prefix="password")
    password.email_for_check = user.email
    if profile.submit.data and profile.validate_on_submit():
        user.name = profile.name.data
        user.time_zone = profile.time_zone.data or None
        db.session.commit()
        flash("Your details are saved.", "success")
        return redirect(url_for("accounts.account"))
    if password.submit.data and password.validate_on_submit():
        if not verify_password(user.password_hash, password.current.data):
            password.current.errors.append("That is not your current password.")
        else:
            operations.set_password(user, password.password.data)
            record("user.password_changed", target=user)
            db.session.commit()
            login_user(user)  # the session token rotated: keep this session signed in
            flash("Your password is changed. Other devices have been signed out.", "success")
            return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/account.html", profile=profile, password=password, organisation=org
    )
