"""Flask-Login's user loader: the session names a user and their current session token."""

from __future__ import annotations

from lms.accounts.models import User
from lms.extensions import db


def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdecimal() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user
