"""Tables that a page shows and a user downloads: one `Table` renders on screen and exports to
CSV and XLSX, so the download cannot disagree with what the page said.

Why openpyxl: XLSX is a zip of XML parts with strict typing rules (shared strings, number
formats, styles); openpyxl writes them correctly, is pure Python, widely used and maintained,
and lets each cell carry its own type, so numbers stay numbers, percentages are numbers with a
percent format, and a text cell that looks like a formula is stored as text. Writing the format
by hand would be more code to get wrong; pandas' writer would go through openpyxl anyway.

Rules every export follows (DESIGN.md section 8):
- Numbers are numbers: integer, number and percent columns are written as numbers (a percent as
  the fraction, -0.12 for −12%, formatted "0.0%" in XLSX; in CSV as percentage points rounded as
  the page shows them, under a header that says "(%)").
- Text cells that begin with = + - @, a tab or a carriage return are neutralised: a single quote
  is put in front (CSV and XLSX), and in XLSX the cell is stored as text, so no spreadsheet
  reads them as a formula (CSV/formula injection).
- Dates are ISO days in CSV and date cells in XLSX; a missing value is an empty cell.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

TEXT = "text"
INTEGER = "integer"
NUMBER = "number"
PERCENT = "percent"
DATE = "date"
KINDS = (TEXT, INTEGER, NUMBER, PERCENT, DATE)

#: What a text cell may not begin with, unquoted (OWASP's CSV-injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MINUS = "\u2212"


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = TEXT
    #: Decimal places a number or percent is shown with (a percent: of percentage points).
    digits: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    @property
    def numeric(self) -> bool:
        return self.kind in (INTEGER, NUMBER, PERCENT)


@dataclass(frozen=True)
class Cell:
    """A value with what the page adds to it: a link (the learners behind a figure) and a
    short note (a status, a reason). Exports take the value only."""

    value: Any
    href: str | None = None
    note: str | None = None
    #: A class for the page (a red/amber/green badge, say).
    css: str | None = None


@dataclass
class Table:
    """Columns and rows of plain values (or `Cell`s); `name` names the download."""

    name: str
    caption: str
    columns: Sequence[Column]
    rows: list[Sequence[Any]] = field(default_factory=list)
    #: Rows with a header cell: the first column is the row's name (shown as <th scope=row>).
    row_headers: bool = True

    def values(self) -> list[list[Any]]:
        """The rows as plain values, as they are exported."""
        return [[value_of(cell) for cell in row] for row in self.rows]

    def shown(self) -> list[list[str]]:
        """The rows as the page shows them (text)."""
        return [[cell.text for cell in row] for row in self.display()]

    def display(self) -> list[list[Shown]]:
        """The rows ready for a page: each cell's text, link, note and class."""
        return [
            [
                Shown(
                    text=format_value(value_of(cell), column),
                    href=cell.href if isinstance(cell, Cell) else None,
                    note=cell.note if isinstance(cell, Cell) else None,
                    css=cell.css if isinstance(cell, Cell) else None,
                    numeric=column.numeric,
                )
                for cell, column in zip(row, self.columns, strict=True)
            ]
            for row in self.rows
        ]


@dataclass(frozen=True)
class Shown:
    """A cell as a page shows it."""

    text: str
    href: str | None
    note: str | None
    css: str | None
    numeric: bool


def value_of(cell: Any) -> Any:
    return cell.value if isinstance(cell, Cell) else cell


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_percent(value: float | None, digits: int = 1) -> str:
    """-0.123 as "−12.3%" (a true minus sign); 0.5 as "50%" (no ".0")."""
    if _missing(value):
        return "—"
    text = f"{value * 100:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0"):
        text = "0"
    return text.replace("-", MINUS) + "%"


def format_value(value: Any, column: Column) -> str:
    """A value as the page shows it in `column`."""
    if _missing(value):
        return "—"
    if column.kind == PERCENT:
        return format_percent(float(value), column.digits)
    if column.kind == INTEGER:
        return f"{int(value):,}".replace("-", MINUS)
    if column.kind == NUMBER:
        text = f"{float(value):,.{column.digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace("-", MINUS)
    if column.kind == DATE and isinstance(value, date | datetime):
        return value.strftime("%d %b %Y")
    return str(value)


def neutralise(text: str) -> str:
    """A text cell made safe from spreadsheet formula evaluation (see the module's rules).
    Leading spaces and line breaks do not hide a formula: some spreadsheets skip them."""
    risky = text.startswith(FORMULA_STARTS) or text.lstrip(" \n\r\t").startswith(FORMULA_STARTS)
    return "'" + text if risky else text


def _csv_header(column: Column) -> str:
    title = neutralise(column.title)
    return f"{title} (%)" if column.kind == PERCENT else title


def _csv_value(value: Any, column: Column) -> Any:
    if _missing(value):
        return ""
    if column.kind == PERCENT:
        points = round(float(value) * 100, column.digits)
        return _plain_number(points)
    if column.kind == INTEGER:
        return int(value)
    if column.kind == NUMBER:
        return _plain_number(float(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return neutralise(str(value))


def _plain_number(number: float) -> int | float:
    """12.0 as 12, so a CSV says "12" where the page says "12%"; -0.0 as 0."""
    if number == 0:
        return 0
    return int(number) if float(number).is_integer() else number


def to_csv(table: Table) -> bytes:
    """The table as CSV (UTF-8 with a byte-order mark, which spreadsheets need to read
    non-ASCII names right; CRLF line ends as RFC 4180 says)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_header(column) for column in table.columns])
    for row in table.values():
        writer.writerow(
            [_csv_value(value, column) for value, column in zip(row, table.columns, strict=True)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(text: str) -> str:
    cleaned = _SHEET_FORBIDDEN.sub(" ", text).strip().strip("'") or "Table"
    return cleaned[:31]


def to_xlsx(table: Table) -> bytes:
    """The table as an XLSX workbook: one sheet, a bold header row that stays in view, typed
    cells (see the module's rules)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(table.caption)
    bold = Font(bold=True)
    for index, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        _set_text(cell, column.title)
        cell.font = bold
    for row_number, row in enumerate(table.values(), start=2):
        for index, (value, column) in enumerate(zip(row, table.columns, strict=True), start=1):
            _set_cell(sheet.cell(row=row_number, column=index), value, column)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        widest = max(
            [len(column.title)] + [len(str(value_of(row[index - 1]) or "")) for row in table.rows]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, widest + 2))
    workbook.properties.title = table.caption
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _set_text(cell: Any, text: str) -> None:
    """A string cell, never a formula: openpyxl would store "=..." as one."""
    cell.value = neutralise(text)
    cell.data_type = "s"


def _set_cell(cell: Any, value: Any, column: Column) -> None:
    if _missing(value):
        cell.value = None
        return
    if column.kind == PERCENT:
        cell.value = float(value)
        cell.number_format = "0" + ("." + "0" * column.digits if column.digits else "") + "%"
    elif column.kind == INTEGER:
        cell.value = int(value)
        cell.number_format = "#,##0"
    elif column.kind == NUMBER:
        cell.value = float(value)
        cell.number_format = "#,##0" + ("." + "0" * column.digits if column.digits else "")
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = value
    else:
        _set_text(cell, str(value))


CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
