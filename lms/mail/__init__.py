"""E-mail: every message goes through the outbox table, then a sender (console or SMTP)."""
