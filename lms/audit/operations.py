"""Writing audit events. The caller owns the transaction, so the event commits with the change."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from lms.audit.models import AuditEvent
from lms.extensions import db


def record(
    action: str,
    *,
    target: Any = None,
    target_type: str | None = None,
    target_id: Any = None,
    reason: str | None = None,
    actor: Any = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event for `action` on `target` by `actor` (default: the signed-in user)."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    if target is not None:
        target_type = target_type or type(target).__name__.lower()
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        reason=reason,
        details=details,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
