"""Rate limits on sign-in and password-reset requests (Flask-Limiter).

Each app gets its own Limiter, bound to its own storage (memory, or Redis when configured), so
two apps in one process (tests, several configurations) never share counters or settings.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Endpoints whose POSTs count against LMS_LOGIN_RATE_LIMIT, per client address.
SIGN_IN_ENDPOINTS = ("accounts.login", "accounts.forgot_password")
#: Public look-ups, limited per client address so codes cannot be tried by the thousand.
LOOKUP_ENDPOINTS = ("certificates.verify", "certificates.verify_lookup")
LOOKUP_LIMIT = "60 per minute"


def _sign_in_limit() -> str:
    return current_app.config["LMS_LOGIN_RATE_LIMIT"]


def init_app(app: Flask) -> Limiter:
    """Call after the blueprints are registered: it wraps their view functions."""
    limiter = Limiter(key_func=get_remote_address, default_limits=[])
    limiter.init_app(app)
    limit = limiter.limit(_sign_in_limit, methods=["POST"])
    for endpoint in SIGN_IN_ENDPOINTS:
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])
    lookup = limiter.limit(LOOKUP_LIMIT)
    for endpoint in LOOKUP_ENDPOINTS:
        app.view_functions[endpoint] = lookup(app.view_functions[endpoint])
    app.extensions["lms_limiter"] = limiter
    return limiter
