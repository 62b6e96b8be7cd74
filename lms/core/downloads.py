"""A file handed to the browser as a download: what every export, certificate, transcript and
credential sends."""

from __future__ import annotations

from flask import Response


def attachment(body: bytes | str, mimetype: str, filename: str) -> Response:
    """`body` as a download named `filename` (ours, ASCII: no quoting rules beyond the quotes).
    Downloads hold personal data or the organisation's figures: never kept in a shared cache,
    never sniffed into another type."""
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
