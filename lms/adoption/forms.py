"""Forms for usage uploads and feature-name mapping."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired


class UsageUploadForm(FlaskForm):
    file = FileField(
        "Usage CSV",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
        description="Columns: user (or email, external_id), platform, feature, timestamp "
        "(ISO 8601), count, event_id (optional).",
    )
    submit = SubmitField("Import usage")


class MapNameForm(FlaskForm):
    platform_id = HiddenField(validators=[DataRequired()])
    name = HiddenField(validators=[DataRequired()])
    feature_id = SelectField("Catalogue feature", validators=[DataRequired()])
    submit = SubmitField("Map and replay")
