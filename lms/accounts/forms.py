"""Sign-in, password and profile forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from lms.accounts.passwords import password_problem
from lms.core.forms import choices
from lms.core.timeutil import time_zone_choices


class LoginForm(FlaskForm):
    # No format check here: the address either matches an account or it does not.
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device")
    submit = SubmitField("Sign in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Email()])
    submit = SubmitField("Send me a reset link")


class _StrongPassword:
    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        problem = password_problem(field.data or "", getattr(form, "email_for_check", ""))
        if problem:
            raise ValidationError(problem)


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), _StrongPassword()],
        description="At least 10 characters. A short sentence is easy to remember.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
    submit = SubmitField("Save password")


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    time_zone = SelectField("Time zone", validate_choice=True)
    submit = SubmitField("Save")

    def __init__(self, *args, organisation_zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = choices(
            [("", f"The organisation's ({organisation_zone})")]
            + [(zone, zone) for zone in time_zone_choices()]
        )


class ChangePasswordForm(ChoosePasswordForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    submit = SubmitField("Change password")
