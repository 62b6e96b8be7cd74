"""Administration forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from lms.accounts.models import RoleName
from lms.core.forms import CheckboxesField, choices
from lms.core.timeutil import time_zone_choices

ROLE_CHOICES = [(role.value, role.value.capitalize()) for role in RoleName]
WEEKDAY_CHOICES = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]


def _zone_choices(blank: str) -> list:
    return choices([("", blank)] + [(zone, zone) for zone in time_zone_choices()])


class UserForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    roles = CheckboxesField(
        "Roles",
        choices=choices(ROLE_CHOICES),
        validators=[DataRequired(message="Choose at least one role.")],
    )
    team_id = SelectField("Team", coerce=str, validators=[Optional()])
    time_zone = SelectField("Time zone", validators=[Optional()])
    external_id = StringField(
        "Platform user id",
        validators=[Optional(), Length(max=120)],
        description="The id this person has in the marketing platforms, to match usage data.",
    )
    reason = StringField(
        "Reason for a role change",
        validators=[Optional(), Length(max=500)],
        description="Written to the audit log when roles change.",
    )
    send_invitation = BooleanField("E-mail an invitation to choose a password", default=True)
    submit = SubmitField("Save")

    def __init__(self, *args, teams=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team_id.choices = choices(
            [("", "No team")]
            + [
                (str(team.id), f"{team.name} ({team.parent.name if team.parent else 'no region'})")
                for team in teams
            ]
        )
        self.time_zone.choices = _zone_choices("The organisation's")


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    submit = SubmitField("Confirm")


class EraseForm(FlaskForm):
    confirm_email = EmailField(
        "Type the user's e-mail address to confirm", validators=[DataRequired()]
    )
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])
    submit = SubmitField("Erase personal data")


class ActionForm(FlaskForm):
    """A button that posts: CSRF-protected, nothing else to fill in."""

    submit = SubmitField("Send")


class ImportUsersForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: email, name, roles (separated by ;), team, time_zone, external_id.",
    )
    send_invitations = BooleanField("E-mail invitations to new users", default=True)
    submit = SubmitField("Import")


class UnitForm(FlaskForm):
    kind = SelectField("Kind", choices=choices([("team", "Team"), ("region", "Region")]))
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    region_id = SelectField("Region (for a team)", validators=[Optional()])
    submit = SubmitField("Add")

    def __init__(self, *args, regions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.region_id.choices = choices([("", "None")] + [(str(r.id), r.name) for r in regions])


class OrganisationForm(FlaskForm):
    name = StringField("Organisation name", validators=[DataRequired(), Length(max=120)])
    time_zone = SelectField("Time zone", validators=[DataRequired()])
    working_weekdays = CheckboxesField(
        "Working days",
        choices=choices(WEEKDAY_CHOICES),
        validators=[DataRequired(message="Choose at least one working day.")],
    )
    holidays = TextAreaField(
        "Holidays",
        description="One per line: a date (YYYY-MM-DD), a space, then its name.",
        validators=[Optional()],
    )
    submit = SubmitField("Save")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone.choices = choices([("UTC", "UTC")] + [(z, z) for z in time_zone_choices()])
