"""Forms for reporting content and closing reports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.core.forms import choices
from lms.feedback.operations import COMMENT_MAX, COMMENT_MIN, NOTE_MAX, NOTE_MIN


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ReportForm(FlaskForm):
    comment = TextAreaField(
        "What looks wrong?",
        description=f"Say what you think is wrong and, if you can, what it should say "
        f"({COMMENT_MIN} to {COMMENT_MAX} characters).",
        validators=[
            DataRequired(message="Say what looks wrong."),
            Length(
                min=COMMENT_MIN,
                max=COMMENT_MAX,
                message=f"Write between {COMMENT_MIN} and {COMMENT_MAX} characters.",
            ),
        ],
        filters=[_strip],
        render_kw={"rows": 4, "maxlength": COMMENT_MAX},
    )


class CloseForm(FlaskForm):
    note = TextAreaField(
        "What was done",
        description="The learner reads this, e.g. “fixed in 1.4.1” or “no change: the key is "
        "right because …”.",
        validators=[
            DataRequired(message="Say what was done."),
            Length(
                min=NOTE_MIN,
                max=NOTE_MAX,
                message=f"Write between {NOTE_MIN} and {NOTE_MAX} characters.",
            ),
        ],
        filters=[_strip],
        render_kw={"rows": 3, "maxlength": NOTE_MAX},
    )


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(
        "Show",
        choices=choices([("open", "Open reports"), ("closed", "Closed reports")]),
        validators=[Optional()],
    )
