"""Reading CSV uploads the same way everywhere: the header checked (line 1), rows with their line
numbers (the line a spreadsheet shows), empty rows skipped, a row with more cells than the header
has columns refused by its line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass
class RowProblem:
    """A refused row: its line in a file, or its index in a JSON batch."""

    where: int
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def read_csv(
    text: str,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    *,
    aliases: dict[str, str] | None = None,
    extra_columns: str = "refuse",
) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """Rows of a CSV file with their line numbers, or the problem with its header (line 1):
    the `required` columns it lacks, or (unless `extra_columns="ignore"`) columns that are
    neither required nor `optional`. Column names are read in any case; `aliases` maps other
    names to a column's own (for example email → user)."""
    columns = required + optional
    aliases = aliases or {}
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    header = [aliases.get(name, name) for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        return [], [
            RowProblem(
                1,
                f"the header lacks the column(s) {', '.join(missing)}; "
                f"expected {', '.join(columns)}",
            )
        ]
    unknown = [name for name in header if name and name not in columns]
    if unknown and extra_columns == "refuse":
        return [], [
            RowProblem(1, f"unknown column(s) {', '.join(unknown)}; expected {', '.join(columns)}")
        ]
    reader.fieldnames = header
    rows, problems = [], []
    for row in reader:
        line = reader.line_num  # the line the row ends on: the one a spreadsheet shows
        if None in row:
            problems.append(RowProblem(line, "has more cells than the header has columns"))
            continue
        values = {key: (value or "").strip() for key, value in row.items() if key in columns}
        if not any(values.values()):
            continue
        rows.append((line, values))
    return rows, problems
