"""Who hears that an attempt passed. Features that react to a pass (learning completes a module
whose sections are done) register a listener when the app is built, so this package imports
none of them: the same registry habit as requirement kinds and question types."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lms.assessments.models import Attempt

#: A listener gets the graded, passed attempt (flushed, not committed) and may return a sentence
#: for the learner ("Module completed: ..."), or None.
PassListener = Callable[["Attempt"], "str | None"]

#: By name, so building a second app (tests do) replaces a listener instead of adding it twice.
PASS_LISTENERS: dict[str, PassListener] = {}


def on_attempt_passed(name: str, listener: PassListener) -> None:
    PASS_LISTENERS[name] = listener


def attempt_passed(attempt: Attempt) -> list[str]:
    """Tell every listener; what they have to say, for the learner."""
    notes = []
    for listener in PASS_LISTENERS.values():
        note = listener(attempt)
        if note:
            notes.append(note)
    return notes
