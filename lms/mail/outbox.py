"""Queue e-mail in the outbox and deliver it through the configured sender.

Messages are queued inside the caller's transaction, so a message exists only if the change
that caused it committed; `deliver_pending` sends what is queued (after the commit, or from
`flask --app lms mail send` on a schedule).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from lms.core.timeutil import now_utc
from lms.extensions import db
from lms.mail.models import OutboxMessage

MAX_ATTEMPTS = 5


def queue(to_address: str, subject: str, body: str, user_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(to_address=to_address, subject=subject, body=body, user_id=user_id)
    db.session.add(message)
    return message


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None: ...


class ConsoleSender:
    """Writes each message to the application log: the default, for development."""

    def send(self, message: OutboxMessage) -> None:
        current_app.logger.warning(
            "E-mail to %s\nSubject: %s\n\n%s", message.to_address, message.subject, message.body
        )


class SmtpSender:
    def send(self, message: OutboxMessage) -> None:
        config = current_app.config
        email = EmailMessage()
        email["From"] = config["LMS_MAIL_FROM"]
        email["To"] = message.to_address
        email["Subject"] = message.subject
        email.set_content(message.body)
        with smtplib.SMTP(config["LMS_SMTP_HOST"], config["LMS_SMTP_PORT"], timeout=20) as smtp:
            if config["LMS_SMTP_STARTTLS"]:
                smtp.starttls()
            if config["LMS_SMTP_USER"]:
                smtp.login(config["LMS_SMTP_USER"], config["LMS_SMTP_PASSWORD"] or "")
            smtp.send_message(email)


SENDERS: dict[str, type] = {"console": ConsoleSender, "smtp": SmtpSender}


def deliver_pending(limit: int = 100) -> int:
    """Send queued messages; failures are kept with their error and retried later."""
    sender: Sender = SENDERS[current_app.config["LMS_MAIL_SENDER"]]()
    pending = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = 0
    for message in pending:
        message.attempts += 1
        try:
            sender.send(message)
        except (OSError, smtplib.SMTPException) as error:
            message.last_error = str(error)[:500]
        else:
            message.sent_at = now_utc()
            message.last_error = None
            sent += 1
    db.session.commit()
    return sent
