"""Free-text search in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """`column` holds `text` anywhere, ignoring case. A % or _ typed in a search box is searched
    for, not taken as a wildcard."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
