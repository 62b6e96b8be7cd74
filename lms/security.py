"""Who may open what: every view declares its access, and anything undeclared is refused.

`@public` views are open to anyone; `@signed_in` to any signed-in user; `@roles_required(...)` to
users holding one of the roles. A view that declares nothing is refused (deny by default), and a
test walks every route to hold us to it. Response headers that harden every page live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed-in"
#: Authenticated by an API token in the view itself (see `lms.api.auth.token_required`).
TOKEN = "token"  # noqa: S105 (an access rule name, not a secret)


def public(view: F) -> F:
    view._access = PUBLIC  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    view._access = SIGNED_IN  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only users holding at least one of `roles` may open the view."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper._access = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _check_access() -> Any:
    if request.endpoint is None:
        return None  # 404 or 405: let Flask answer.
    if request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    access = getattr(view, "_access", None)
    if access is None:
        current_app.logger.error("view %s declares no access rule: refused", request.endpoint)
        abort(403)
    if access in (PUBLIC, TOKEN):
        return None
    if not current_user.is_authenticated:
        if _wants_json():
            response = jsonify(error="unauthorised", message="Sign in first.")
            response.status_code = 401
            return response
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    return None


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths: a `next` parameter must not send users elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _harden(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_access)
    app.after_request(_harden)
