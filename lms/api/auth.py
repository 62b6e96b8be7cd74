"""Token authentication for the JSON API and xAPI: a view declares the scope it needs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify

from lms.api import tokens
from lms.security import TOKEN

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, error: str, message: str, **extra: Any) -> Any:
    response = jsonify(error=error, message=message, **extra)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="lms", Basic realm="lms"'
    return response


def token_required(scope: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import request

            token = tokens.from_request(request)
            if token is None:
                return api_error(
                    401,
                    "unauthorised",
                    "Send an API token: 'Authorization: "
                    "Bearer lms_…', or HTTP Basic with the token's key and secret.",
                )
            if scope not in token.scopes:
                return api_error(403, "forbidden", f"This token lacks the {scope!r} scope.")
            # A personal token acts as its owner: it loses what the owner's roles lose.
            if token.kind == "personal" and scope not in tokens.allowed_scopes(token.owner):
                return api_error(
                    403, "forbidden", f"This token's owner may no longer use the {scope!r} scope."
                )
            g.api_token = token
            return view(*args, **kwargs)

        wrapper._access = TOKEN  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
