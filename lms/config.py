"""Configuration from the environment, with safe defaults for the embedded (SQLite) set-up.

Every setting is documented in README.md. Secrets are never defaults: `SECRET_KEY`, when unset,
is generated once and kept in the instance folder; in production mode it must be given.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """The app refuses to start with this configuration."""


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def is_production_database(url: str) -> bool:
    return url.startswith(("postgresql", "postgres://"))


def _instance_secret_key(instance_path: Path) -> str:
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with owner-only permissions: the key signs sessions and e-mailed links.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def normalise_database_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the common spellings of a PostgreSQL URL.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def build_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The app's configuration: environment first, then `overrides` (tests, embedding)."""
    overrides = dict(overrides or {})
    env = os.environ
    database_url = (
        overrides.get("SQLALCHEMY_DATABASE_URI")
        or env.get("DATABASE_URL")
        or (f"sqlite:///{instance_path / 'lms.sqlite3'}")
    )
    testing = bool(overrides.get("TESTING", False))
    production = is_production_database(database_url) and not testing
    redis_url = env.get("LMS_REDIS_URL") or env.get("REDIS_URL")

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production mode (PostgreSQL configured) the app "
                "refuses to start without it: set SECRET_KEY to a long random value."
            )
        secret_key = _instance_secret_key(instance_path)

    if production and not redis_url:
        redis_url = "redis://127.0.0.1:6379/0"

    https = _env_bool("LMS_HTTPS", default=production)
    config: dict[str, Any] = {
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "LMS_PRODUCTION": production,
        "LMS_CURRICULA_PATH": env.get("LMS_CURRICULA_PATH")
        or str(Path(__file__).resolve().parent.parent / "curricula"),
        "LMS_ORGANISATION_NAME": env.get("LMS_ORGANISATION_NAME", "Our organisation"),
        "LMS_BASE_URL": env.get("LMS_BASE_URL", "http://127.0.0.1:5000"),
        "LMS_REDIS_URL": redis_url,
        # "thread" runs large imports in the web process; "rq" on an RQ worker over Redis.
        "LMS_JOB_QUEUE": env.get("LMS_JOB_QUEUE", "thread"),
        # E-mail: "console" writes messages to the log; "smtp" sends them.
        "LMS_MAIL_SENDER": env.get("LMS_MAIL_SENDER", "console"),
        "LMS_MAIL_FROM": env.get("LMS_MAIL_FROM", "lms@localhost"),
        "LMS_SMTP_HOST": env.get("LMS_SMTP_HOST", "localhost"),
        "LMS_SMTP_PORT": int(env.get("LMS_SMTP_PORT", "25")),
        "LMS_SMTP_USER": env.get("LMS_SMTP_USER"),
        "LMS_SMTP_PASSWORD": env.get("LMS_SMTP_PASSWORD"),
        "LMS_SMTP_STARTTLS": _env_bool("LMS_SMTP_STARTTLS"),
        "LMS_INVITATION_MAX_AGE_HOURS": int(env.get("LMS_INVITATION_MAX_AGE_HOURS", "168")),
        "LMS_PASSWORD_RESET_MAX_AGE_HOURS": int(env.get("LMS_PASSWORD_RESET_MAX_AGE_HOURS", "2")),
        "LMS_LOGIN_RATE_LIMIT": env.get("LMS_LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        # "Keep me signed in" lasts 30 days at most (Flask-Login's default is a year).
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("LMS_REMEMBER_DAYS", "30"))),
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": int(env.get("LMS_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
        # Demonstration evidence: where files are kept (never under static/), the largest file,
        # and how much one person may keep in all.
        "LMS_UPLOAD_DIR": env.get("LMS_UPLOAD_DIR") or str(instance_path / "uploads"),
        "LMS_EVIDENCE_FILE_MAX_BYTES": int(
            env.get("LMS_EVIDENCE_FILE_MAX_BYTES", str(10 * 1024 * 1024))
        ),
        "LMS_EVIDENCE_QUOTA_BYTES": int(
            env.get("LMS_EVIDENCE_QUOTA_BYTES", str(100 * 1024 * 1024))
        ),
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Times are stored as UTC in columns without a zone: make every session speak UTC, so
        # the server's own time zone can never shift them.
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"options": "-c timezone=UTC"}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    return config
