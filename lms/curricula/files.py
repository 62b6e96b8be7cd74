"""Reading curriculum files: YAML parsed with line numbers, then validated against the schema.

Every problem becomes a `Problem` naming the file, the line and the field, so an author can go
straight to it. A file with any problem is refused whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from lms.curricula import schema

SCHEMAS: dict[str, type[BaseModel]] = {
    "lms/programme/1": schema.Programme,
    "lms/framework/1": schema.Framework,
    "lms/figures/1": schema.Figures,
    "lms/features/1": schema.FeatureCatalogue,
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class ParsedFile:
    path: Path
    document: BaseModel | None = None
    problems: list[Problem] = field(default_factory=list)
    content_hash: str = ""
    display: str = ""
    lines: _Lines | None = None

    def line_of(self, *location: Any) -> int | None:
        return self.lines.line_of(location) if self.lines else None

    @property
    def kind(self) -> str:
        return type(self.document).__name__.lower() if self.document else "unknown"


class _Lines:
    """Maps a path of keys and indexes inside a YAML document to the line it starts on."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line_of(self, location: tuple[Any, ...]) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for key in location:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == key:
                        child = value_node
                        line = key_node.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(key, int)
                and 0 <= key < len(node.value)
            ):
                child = node.value[key]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


#: libyaml's parser when PyYAML was built with it: ten times the pure-Python speed, and every
#: test loads the curricula.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """A safe loader that refuses duplicate keys instead of silently keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _duplicate_keys(
    node: yaml.Node | None, location: tuple[Any, ...] = (), visited: set[int] | None = None
) -> Iterator[tuple[tuple[Any, ...], int, int]]:
    """Yield (location, line, first line) for each key given twice in the same mapping, so the
    error names the field (`modules[1].title`), not only the line."""
    visited = set() if visited is None else visited
    if id(node) in visited:  # an alias of a node already walked (or a recursive one)
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first:
                yield (*location, key), line, first[key]
            else:
                first[key] = line
            yield from _duplicate_keys(value_node, (*location, key), visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield from _duplicate_keys(child, (*location, index), visited)


def _field_name(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for key in location:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(("." if parts else "") + ("schema" if key == "schema_" else str(key)))
    return "".join(parts)


def content_hash(document: BaseModel) -> str:
    canonical = json.dumps(document.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_file(path: Path, display: str | None = None) -> ParsedFile:
    """Parse and validate one curriculum file; problems are collected, never raised."""
    shown = display or str(path)
    result = ParsedFile(path=path, display=shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        result.problems.append(Problem(shown, None, "", f"cannot be read: {error}"))
        return result
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        duplicates = list(_duplicate_keys(root))
        if duplicates:
            for location, line, first in duplicates:
                result.problems.append(
                    Problem(
                        shown,
                        line,
                        _field_name(location),
                        f"is not valid YAML: duplicate key (first given on line {first})",
                    )
                )
            return result
        # Built from the nodes already composed: the text is parsed once.
        constructor = _UniqueKeyLoader("")
        try:
            data = constructor.construct_document(root) if root is not None else None
        finally:
            constructor.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        result.problems.append(Problem(shown, line, "", f"is not valid YAML: {error.problem}"))
        return result
    lines = result.lines = _Lines(root)
    if not isinstance(data, dict):
        result.problems.append(Problem(shown, 1, "", "must be a mapping of keys to values"))
        return result
    model = SCHEMAS.get(str(data.get("schema")))
    if model is None:
        known = ", ".join(SCHEMAS)
        result.problems.append(
            Problem(shown, lines.line_of(("schema",)), "schema", f"must be one of: {known}")
        )
        return result
    try:
        result.document = model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            location = tuple("schema" if part == "schema_" else part for part in item["loc"])
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "is not a known field (check its spelling and indentation)"
            elif item["type"] == "duplicate_id":
                location = (*location, item["ctx"]["index"], "id")
            result.problems.append(
                Problem(shown, lines.line_of(location), _field_name(location), message)
            )
        return result
    checks = getattr(result.document, "references", None)
    for location, message in checks() if checks else []:
        result.problems.append(
            Problem(shown, lines.line_of(location), _field_name(location), message)
        )
    if result.problems:
        result.document = None
        return result
    result.content_hash = content_hash(result.document)
    return result


def discover(path: Path) -> list[Path]:
    """The curriculum files at `path`: the file itself, or every *.yaml below the folder."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.y*ml") if p.is_file())


def parse_tree(path: Path) -> list[ParsedFile]:
    """Parse every file under `path`, then check what only the whole set can show."""
    base = path if path.is_dir() else path.parent
    parsed = [parse_file(p, str(p.relative_to(base.parent))) for p in discover(path)]
    seen: dict[str, str] = {}
    for item in parsed:
        document = item.document
        if document is None:
            continue
        # Loaded content is recorded by document id alone (ContentVersion.document), so an id
        # must be unique across kinds too: a programme may not take the framework's id.
        ident = getattr(document, "id", None) or "figures"
        if ident in seen:
            item.problems.append(
                Problem(
                    item.display,
                    item.line_of("id"),
                    "id",
                    f"{ident!r} is already used by {seen[ident]}",
                )
            )
            item.document = None
        else:
            seen[ident] = item.display
    _check_taught_by(parsed)
    return parsed


def _check_taught_by(parsed: list[ParsedFile]) -> None:
    """Each feature's `taught_by` must name a module of a programme in the same tree."""
    modules = {
        f"{item.document.id}/{module.id}"
        for item in parsed
        if isinstance(item.document, schema.Programme)
        for module in item.document.modules
    }
    for item in parsed:
        catalogue = item.document
        if not isinstance(catalogue, schema.FeatureCatalogue) or not modules:
            continue
        for p_index, platform in enumerate(catalogue.platforms):
            for f_index, feature in enumerate(platform.features):
                for t_index, ref in enumerate(feature.taught_by):
                    if ref not in modules:
                        location = ("platforms", p_index, "features", f_index, "taught_by", t_index)
                        item.problems.append(
                            Problem(
                                item.display,
                                item.line_of(*location),
                                _field_name(location),
                                f"no programme module {ref!r}",
                            )
                        )
        if item.problems:
            item.document = None
