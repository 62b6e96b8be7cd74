"""Forms of the cohort pages. Every action form carries a reason: it goes to the audit log."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from lms.cohorts.operations import BULK_ACTIONS, MAX_EXTRA_MINUTES
from lms.core.forms import CheckboxesField, choices

REASON_HINT = "Written to the audit log with your name."


def _reason(label: str = "Reason") -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(message="Give a reason: it goes to the audit log."),
            Length(max=500),
        ],
        description=REASON_HINT,
    )


class CohortForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    start_date = DateField(
        "Start date", validators=[DataRequired(message="Give a date such as 2026-09-01.")]
    )
    due_date = DateField(
        "Due date",
        validators=[Optional()],
        description="Optional: the deadline for completing the programmes, shown beside stage "
        "status.",
    )
    programmes = CheckboxesField(
        "Programmes",
        coerce=int,
        validators=[DataRequired(message="Choose at least one programme.")],
    )
    manager_id = SelectField("Manager", coerce=int)
    #: Shown with the warning when a chosen programme has modules in preparation; the server
    #: checks it, so the warning stands without JavaScript.
    start_anyway = BooleanField(
        "Start anyway: my learners will wait for the modules in preparation, with their stage "
        "clocks held"
    )
    submit = SubmitField("Create cohort")

    def __init__(self, *args, programmes=(), managers=None, ready=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ready = ready or {}
        self.programmes.choices = choices(
            [
                (
                    str(p.id),
                    f"{p.title} ({p.kind})" + (f": {ready[p.id].text}" if p.id in ready else ""),
                )
                for p in programmes
            ]
        )
        if managers is None:  # the manager is the person filling in the form
            del self.manager_id
        else:
            self.manager_id.choices = choices(
                [(str(m.id), f"{m.name} ({m.email})") for m in managers]
            )


class EnrolmentActionForm(FlaskForm):
    """Withdraw, extend the window, pause or resume the clock of one enrolment."""

    action = SelectField(
        "Action",
        choices=choices([("", "Choose an action")] + list(BULK_ACTIONS.items())),
        validators=[DataRequired(message="Choose an action.")],
    )
    days = IntegerField(
        "Days (to extend by)",
        validators=[Optional(), NumberRange(min=1, max=365, message="Extend by 1 to 365 days.")],
    )
    reason = _reason()
    submit = SubmitField("Apply")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.action.data == "extend" and not self.days.data and not self.days.errors:
            self.days.errors = [*self.days.errors, "Say how many days to extend by."]
            valid = False
        return valid


class BulkForm(EnrolmentActionForm):
    """The same actions on every enrolment ticked in the cohort table."""

    enrolments = SelectMultipleField("Enrolments", coerce=int, validate_choice=False, choices=[])
    submit = SubmitField("Apply to the ticked enrolments")

    def validate_enrolments(self, field: SelectMultipleField) -> None:
        if not field.data:
            raise ValidationError("Tick at least one enrolment in the table.")


class EnrolForm(FlaskForm):
    """Enrol one learner found by search: each result's button carries their id."""

    user_id = IntegerField(validators=[DataRequired(message="Choose a learner.")])
    reason = _reason()


class EnrolCsvForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: email (required), start_date (optional, YYYY-MM-DD).",
    )
    reason = _reason()
    submit = SubmitField("Enrol from file")


class ExemptForm(FlaskForm):
    requirement = HiddenField(validators=[DataRequired()])
    reason = _reason()


class ExtraTimeForm(FlaskForm):
    assessment_id = HiddenField(validators=[DataRequired()])
    minutes = IntegerField(
        "Extra minutes",
        validators=[
            InputRequired(message="Give the extra minutes (0 takes a grant back)."),
            NumberRange(min=0, max=MAX_EXTRA_MINUTES),
        ],
    )
    reason = _reason()
