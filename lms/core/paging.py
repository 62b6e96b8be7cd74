"""Paging long lists: two queries (a count and one page), whatever the list's length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from lms.extensions import db


@dataclass
class Page:
    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.number * self.per_page)


def paginate(statement: Select, number: int, per_page: int = 50) -> Page:
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    number = max(1, min(number, max(1, -(-(total or 0) // per_page))))
    items = list(db.session.scalars(statement.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, number=number, per_page=per_page, total=total or 0)


def paginate_rows(statement: Select, number: int, per_page: int = 50) -> Page:
    """`paginate` for a select of several columns: the page's items are result rows."""
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    number = max(1, min(number, max(1, -(-(total or 0) // per_page))))
    items = list(db.session.execute(statement.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, number=number, per_page=per_page, total=total or 0)
