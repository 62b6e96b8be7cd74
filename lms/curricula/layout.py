"""A programme as a folder an author edits one module at a time.

    programmes/<programme-id>/
      programme.yaml                 metadata, module order, gates, demonstrations
      modules/<module-id>.md         front matter (title, stage, objectives, minutes,
                                     prerequisites), then one `## Title {#section-id}` per section
      modules/<module-id>.questions.yaml   the module's knowledge check: settings and questions
      pre-assessment.yaml, post-assessment.yaml   the programme's parallel pair (optional)

The folder is assembled into the same document a single programme file gives (schema
`lms/programme/1`), so validation, hashing and loading are shared. Every value remembers the
file and line it came from (`Sources`), so an error names the file an author has to open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROGRAMME_FILE = "programme.yaml"
MODULES_FOLDER = "modules"
LESSON_SUFFIX = ".md"
BANK_SUFFIX = ".questions.yaml"
JOB_AIDS_FOLDER = "job-aids"
PAIR_FILES = {"pre_assessment": "pre-assessment.yaml", "post_assessment": "post-assessment.yaml"}

#: `## Title {#section-id key=value key="two words"}`; the title may be empty for an include.
SECTION_HEADING = re.compile(r"^##\s+(?P<title>.*?)\s*\{#(?P<id>[^\s}]+)(?P<attrs>[^}]*)\}\s*$")
ATTRIBUTE = re.compile(r'(?P<key>[a-z_]+)=(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')
FENCE = re.compile(r"^\s*(```|~~~)")
SECTION_ATTRIBUTES = {"objectives", "include"}
#: `programme-id/module-id/section-id`.
INCLUDE_REF = re.compile(r"^[a-z0-9-]+/[a-z0-9-]+/[a-z0-9-]+$")


@dataclass(frozen=True)
class Source:
    """Where the values under one location of the assembled document came from."""

    display: str
    line_of: Callable[[tuple[Any, ...]], int | None]


@dataclass
class Sources:
    """Maps a location in the assembled document (a tuple of keys and indexes) to a file and a
    line: the longest registered prefix wins."""

    default: Source
    entries: dict[tuple[Any, ...], Source] = field(default_factory=dict)

    def add(self, prefix: tuple[Any, ...], source: Source) -> None:
        self.entries[prefix] = source

    def locate(self, location: tuple[Any, ...]) -> tuple[str, int | None]:
        for size in range(len(location), 0, -1):
            source = self.entries.get(tuple(location[:size]))
            if source is not None:
                return source.display, source.line_of(tuple(location[size:]))
        return self.default.display, self.default.line_of(tuple(location))


@dataclass
class SectionText:
    """One section as written, before includes are resolved."""

    id: str
    title: str
    body: str
    line: int
    objectives: list[str] | None = None
    include: str | None = None
    #: The line of the body's first text, where a problem in the body is reported.
    body_line: int | None = None


@dataclass
class LessonFile:
    front: dict[str, Any]
    sections: list[SectionText]


class LayoutError(ValueError):
    """A problem with the files' shape; `line` is 1-based within the file."""

    def __init__(self, message: str, line: int | None = None, field: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.field = field


def split_front_matter(text: str) -> tuple[str, str, int]:
    """(front matter YAML, Markdown after it, line number where the Markdown starts)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise LayoutError(
            "must start with front matter between two `---` lines (title, stage, objectives)", 1
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise LayoutError("the front matter is not closed by a `---` line", 1)


def parse_sections(markdown: str, first_line: int) -> list[SectionText]:
    """Split the lesson into sections at `## Title {#id}` headings (not inside code fences)."""
    sections: list[SectionText] = []
    current: SectionText | None = None
    body: list[str] = []
    in_fence = False
    for offset, line in enumerate(markdown.splitlines()):
        number = first_line + offset
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else SECTION_HEADING.match(line)
        if heading is None and not in_fence and line.startswith("## "):
            raise LayoutError(
                "a section heading needs a stable id, e.g. `## Choosing KPIs {#kpi-tree}`",
                number,
                "section",
            )
        if heading is None:
            if current is None:
                if line.strip():
                    raise LayoutError(
                        "text before the first section: start the lesson with a "
                        "`## Title {#section-id}` heading",
                        number,
                        "section",
                    )
                continue
            if current.body_line is None and line.strip():
                current.body_line = number
            body.append(line)
            continue
        if current is not None:
            current.body = "\n".join(body).strip("\n")
            sections.append(current)
        attributes = {}
        for match in ATTRIBUTE.finditer(heading.group("attrs")):
            key = match.group("key")
            if key not in SECTION_ATTRIBUTES:
                raise LayoutError(
                    f"unknown section attribute {key!r} (known: objectives, include)",
                    number,
                    "section",
                )
            attributes[key] = (
                match.group("quoted")
                if match.group("quoted") is not None
                else (match.group("bare"))
            )
        leftover = ATTRIBUTE.sub("", heading.group("attrs")).strip()
        if leftover:
            raise LayoutError(f"cannot read {leftover!r} in the section heading", number, "section")
        objectives = attributes.get("objectives")
        current = SectionText(
            id=heading.group("id"),
            title=heading.group("title").strip(),
            body="",
            line=number,
            objectives=objectives.replace(",", " ").split() if objectives is not None else None,
            include=attributes.get("include"),
        )
        body = []
    if current is not None:
        current.body = "\n".join(body).strip("\n")
        sections.append(current)
    return sections


def section_line_of(sections: list[SectionText]) -> Callable[[tuple[Any, ...]], int | None]:
    def line_of(location: tuple[Any, ...]) -> int | None:
        if not location or not isinstance(location[0], int) or location[0] >= len(sections):
            return sections[0].line if sections else None
        section = sections[location[0]]
        if len(location) > 1 and location[1] == "body":
            return section.body_line or section.line
        return section.line

    return line_of


def is_programme_folder(path: Path) -> bool:
    return path.is_dir() and (path / PROGRAMME_FILE).is_file()


def programme_folder_of(path: Path) -> Path | None:
    """The programme folder a file belongs to, if any (the file itself may be programme.yaml)."""
    for parent in [path.parent, *path.parents] if path.is_file() else [path, *path.parents]:
        if is_programme_folder(parent):
            return parent
    return None


def dump_front_matter(front: dict[str, Any]) -> str:
    """YAML for a module's front matter, keys in the order an author reads them."""
    return yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
