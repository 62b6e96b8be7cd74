"""Forms of the records pages: a change to a process step, a campaign and a campaign file, an
integration checkpoint, a baseline period, and an endorsement. The forms read what was typed;
the rules (dates not in the future, KPI name and value together...) live in `records_ops`, so
the API and the CSV import follow the same ones."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from lms.adoption.records_ops import EVIDENCE_LENGTH, NOTE_LENGTH
from lms.core.forms import choices

DATE_MESSAGE = "Give a date such as 2026-03-31."


def finite(form, field) -> None:
    """Decimal("NaN") and "Infinity" parse, but are not amounts (and cannot be compared)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Give a number.")


class StepChangeForm(FlaskForm):
    """A step became automated (or manual again) on a date."""

    automated = SelectField(
        "It became",
        choices=choices([("automated", "Automated"), ("manual", "Manual")]),
        validators=[DataRequired(message="Choose automated or manual.")],
    )
    changed_on = DateField(
        "On", validators=[DataRequired(message=DATE_MESSAGE)], description="Not in the future."
    )
    note = StringField(
        "Note",
        validators=[Optional(), Length(max=NOTE_LENGTH)],
        description="Optional: what changed (the tool, the trigger, who runs it now).",
    )
    submit = SubmitField("Record the change")


class CampaignForm(FlaskForm):
    campaign = StringField(
        "Campaign", validators=[DataRequired(message="Name the campaign."), Length(max=200)]
    )
    launched_on = DateField("Launched on", validators=[DataRequired(message=DATE_MESSAGE)])
    hours_spent = DecimalField(
        "Hours spent",
        places=None,
        validators=[
            InputRequired(message="Give the hours the team spent (0 if none)."),
            finite,
            NumberRange(min=0, message="Hours cannot be negative."),
        ],
    )
    cost = DecimalField(
        "Cost",
        places=None,
        validators=[
            InputRequired(message="Give the cost (0 if none)."),
            finite,
            NumberRange(min=0, message="The cost cannot be negative."),
        ],
    )
    attributed_revenue = DecimalField(
        "Attributed revenue",
        places=None,
        validators=[
            InputRequired(message="Give the attributed revenue (0 if none)."),
            finite,
            NumberRange(min=0, message="The revenue cannot be negative."),
        ],
    )
    kpi_name = StringField(
        "KPI name",
        validators=[Optional(), Length(max=80)],
        description="Optional, with its value: the campaign KPI the team chose (for example "
        "“conversion rate”).",
    )
    kpi_value = DecimalField("KPI value", places=None, validators=[Optional(), finite])
    submit = SubmitField("Save campaign")

    def values(self) -> dict:
        """What was typed, as the operation takes it."""
        return {
            name: getattr(self, name).data
            for name in (
                "campaign",
                "launched_on",
                "hours_spent",
                "cost",
                "attributed_revenue",
                "kpi_name",
                "kpi_value",
            )
        }


class CampaignImportForm(FlaskForm):
    file = FileField(
        "Campaign CSV",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: team, campaign, launched_on (YYYY-MM-DD), hours_spent, cost, "
        "attributed_revenue; kpi_name and kpi_value optional, together.",
    )
    submit = SubmitField("Import campaigns")


class StepChangeImportForm(FlaskForm):
    file = FileField(
        "Process-step changes CSV",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: team, procedure, step_number, automated (true/false, yes/no or "
        "automated/manual), changed_on (YYYY-MM-DD); note optional.",
    )
    submit = SubmitField("Import changes")


class CheckpointImportForm(FlaskForm):
    file = FileField(
        "Integration checkpoints CSV",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: team, domain, item, status (planned or achieved); achieved_on "
        "(YYYY-MM-DD) and evidence, required when achieved.",
    )
    submit = SubmitField("Import checkpoints")


class CheckpointForm(FlaskForm):
    status = SelectField(
        "Status",
        choices=choices([("achieved", "Achieved"), ("planned", "Planned")]),
        validators=[DataRequired(message="Choose planned or achieved.")],
    )
    achieved_on = DateField(
        "Achieved on",
        validators=[Optional()],
        description="Required when achieved; not in the future.",
    )
    evidence = TextAreaField(
        "Evidence",
        validators=[Optional(), Length(max=EVIDENCE_LENGTH)],
        description="Required when achieved: what shows it (a link, a report, a decision).",
    )
    submit = SubmitField("Save")


class BaselineForm(FlaskForm):
    period_start = DateField("Period starts", validators=[DataRequired(message=DATE_MESSAGE)])
    period_end = DateField(
        "Period ends",
        validators=[DataRequired(message=DATE_MESSAGE)],
        description="On or after the start, and not in the future.",
    )
    note = StringField("Note", validators=[Optional(), Length(max=NOTE_LENGTH)])
    submit = SubmitField("Save baseline")


class EndorseForm(FlaskForm):
    """Endorse a colleague found by search: each result's button carries their id."""

    endorsee_id = IntegerField(validators=[DataRequired(message="Choose a colleague.")])
    note = TextAreaField(
        "What do you recognise in their work?",
        validators=[
            DataRequired(message="Say what you recognise in their work."),
            Length(max=NOTE_LENGTH, message=f"Keep the note to {NOTE_LENGTH} characters."),
        ],
        description=f"Up to {NOTE_LENGTH} characters; they will see it with your name.",
    )
