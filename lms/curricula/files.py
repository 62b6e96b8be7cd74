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

from lms.curricula import layout, schema
from lms.curricula.figure_text import render_tree
from lms.curricula.layout import LayoutError, Source, Sources

SCHEMAS: dict[str, type[BaseModel]] = {
    "lms/programme/1": schema.Programme,
    "lms/framework/1": schema.Framework,
    "lms/figures/1": schema.Figures,
    "lms/features/1": schema.FeatureCatalogue,
    "lms/equivalences/1": schema.Equivalences,
    "lms/glossary/1": schema.Glossary,
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
    """One curriculum document: a single file, or a programme folder assembled into one."""

    path: Path
    document: BaseModel | None = None
    problems: list[Problem] = field(default_factory=list)
    content_hash: str = ""
    display: str = ""
    sources: Sources | None = None
    #: The raw document before validation (a programme folder's, assembled).
    data: dict[str, Any] | None = None
    #: Sections that include another module's section, resolved across the whole tree:
    #: (module index, section index, reference).
    includes: list[tuple[int, int, str]] = field(default_factory=list)

    def line_of(self, *location: Any) -> int | None:
        return self.sources.locate(location)[1] if self.sources else None

    def problem(self, location: tuple[Any, ...], message: str) -> Problem:
        """A problem at a location of the document, named by the file and line it came from."""
        display, line = self.sources.locate(location) if self.sources else (self.display, None)
        return Problem(display, line, _field_name(location), message)

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
    """SHA-256 of the validated content. Defaults are left out, so a field added to the schema
    later changes no hash of a document that does not use it."""
    canonical = json.dumps(
        document.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _read_yaml(text: str, shown: str, offset: int = 0) -> tuple[Any, _Lines, list[Problem]]:
    """Parse YAML text keeping the node tree for line numbers; `offset` is added to every line
    (front matter starts below its `---`). Problems are returned, never raised."""
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_UniqueKeyLoader)
        duplicates = list(_duplicate_keys(root))
        if duplicates:
            for location, line, first in duplicates:
                problems.append(
                    Problem(
                        shown,
                        line + offset,
                        _field_name(location),
                        f"is not valid YAML: duplicate key (first given on line {first + offset})",
                    )
                )
            return None, _Lines(None), problems
        # Built from the nodes already composed: the text is parsed once.
        constructor = _UniqueKeyLoader("")
        try:
            data = constructor.construct_document(root) if root is not None else None
        finally:
            constructor.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 + offset if mark else None
        problems.append(Problem(shown, line, "", f"is not valid YAML: {error.problem}"))
        return None, _Lines(None), problems
    return data, _Lines(root), problems


def _source(shown: str, lines: _Lines, offset: int = 0) -> Source:
    def line_of(location: tuple[Any, ...]) -> int | None:
        line = lines.line_of(location)
        return line + offset if line is not None else None

    return Source(shown, line_of)


def _read_text(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(shown, None, "", f"cannot be read: {error}")]


def parse_file(
    path: Path, display: str | None = None, figures: dict[str, schema.Target] | None = None
) -> ParsedFile:
    """Parse and validate one curriculum document: a YAML file, or a programme folder (given as
    the folder or its programme.yaml). `figures` fill in `{{ figure('id') }}` in programmes
    (default: the figures.yaml of the curricula folder the programme is in). Problems are
    collected, never raised."""
    folder = layout.programme_folder_of(path)
    if figures is None:
        figures = _figures_near(folder or path)
    if folder is not None and (path == folder or path.name == layout.PROGRAMME_FILE):
        shown = display or str(folder)
        result = assemble_programme(folder, shown)
        validate(result, figures)
        return result
    shown = display or str(path)
    result = ParsedFile(path=path, display=shown)
    text, result.problems = _read_text(path, shown)
    if text is None:
        return result
    data, lines, result.problems = _read_yaml(text, shown)
    result.sources = Sources(_source(shown, lines))
    if not result.problems:
        result.data = data
        validate(result, figures)
    return result


def _figures_near(path: Path) -> dict[str, schema.Target]:
    """The figures of the curricula folder a programme sits in (curricula/programmes/x/)."""
    for folder in path.parents:
        candidate = folder / "figures.yaml"
        if candidate.is_file() and candidate != path:
            parsed = parse_file(candidate, figures={})
            if isinstance(parsed.document, schema.Figures):
                return dict(parsed.document.figures)
            return {}
    return {}


def validate(result: ParsedFile, figures: dict[str, schema.Target] | None = None) -> None:
    """Validate `result.data` against the schema its `schema` key names; on success set the
    document and its content hash, else collect problems (and no document). In a programme,
    `{{ figure('id') }}` is replaced by the figure from `figures` first."""
    data = result.data
    if result.problems:
        return
    if not isinstance(data, dict):
        result.problems.append(
            Problem(result.display, 1, "", "must be a mapping of keys to values")
        )
        return
    if data.get("schema") == "lms/programme/1":
        data, unknown = render_tree(data, figures or {})
        for location, figure_id in unknown:
            result.problems.append(
                result.problem(location, f"no figure {figure_id!r} in figures.yaml")
            )
        if unknown:
            return
    model = SCHEMAS.get(str(data.get("schema")))
    if model is None:
        known = ", ".join(SCHEMAS)
        result.problems.append(result.problem(("schema",), f"must be one of: {known}"))
        return
    try:
        result.document = model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            location = _without_union_tags(
                data, tuple("schema" if part == "schema_" else part for part in item["loc"])
            )
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "is not a known field (check its spelling and indentation)"
            elif item["type"] == "duplicate_id":
                location = (*location, item["ctx"]["index"], "id")
            result.problems.append(result.problem(location, message))
        return
    checks = getattr(result.document, "references", None)
    for location, message in checks() if checks else []:
        result.problems.append(result.problem(location, message))
    if result.problems:
        result.document = None
        return
    result.content_hash = content_hash(result.document)


def _without_union_tags(data: Any, location: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pydantic puts a discriminated union's tag in an error's location (`questions[0].scenario
    .id`); the file has no such level, so drop it to find the right line and name the field."""
    kept: list[Any] = []
    node = data
    for part in location:
        if isinstance(node, dict) and node.get("type") == part and isinstance(part, str):
            continue
        kept.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(kept)


# --- Programme folders ------------------------------------------------------------------------


def assemble_programme(folder: Path, shown: str) -> ParsedFile:
    """Read a programme folder into the document a single programme file would give, with the
    file and line of every value; includes are left for `resolve_includes`."""
    result = ParsedFile(path=folder, display=shown)
    main_shown = f"{shown}/{layout.PROGRAMME_FILE}"
    text, problems = _read_text(folder / layout.PROGRAMME_FILE, main_shown)
    if text is None:
        result.problems = problems
        return result
    data, lines, problems = _read_yaml(text, main_shown)
    result.sources = Sources(_source(main_shown, lines))
    result.problems.extend(problems)
    if problems:
        return result
    if not isinstance(data, dict):
        result.problems.append(Problem(main_shown, 1, "", "must be a mapping of keys to values"))
        return result
    if data.get("schema") != "lms/programme/1":
        result.problems.append(
            result.problem(("schema",), "a programme folder's programme.yaml is lms/programme/1")
        )
        return result
    module_ids = data.get("modules")
    if not isinstance(module_ids, list) or not all(isinstance(m, str) for m in module_ids):
        result.problems.append(
            result.problem(
                ("modules",),
                "lists the module ids in order; each module is modules/<id>.md "
                "(with modules/<id>.questions.yaml for its knowledge check)",
            )
        )
        return result
    modules_folder = folder / layout.MODULES_FOLDER
    modules: list[Any] = []
    for index, module_id in enumerate(module_ids):
        lesson_path = modules_folder / f"{module_id}{layout.LESSON_SUFFIX}"
        lesson_shown = f"{shown}/{layout.MODULES_FOLDER}/{lesson_path.name}"
        if not lesson_path.is_file():
            result.problems.append(
                result.problem(("modules", index), f"no file {lesson_shown} for this module")
            )
            continue
        module = _assemble_module(result, index, module_id, lesson_path, lesson_shown)
        if module is None:
            continue
        bank_path = modules_folder / f"{module_id}{layout.BANK_SUFFIX}"
        if bank_path.is_file():
            bank_shown = f"{shown}/{layout.MODULES_FOLDER}/{bank_path.name}"
            bank = _read_part(result, bank_path, bank_shown, ("modules", index, "assessment"))
            if bank is not None:
                module["assessment"] = bank
        modules.append(module)
    listed = {
        f"{m}{suffix}" for m in module_ids for suffix in (layout.LESSON_SUFFIX, layout.BANK_SUFFIX)
    }
    for stray in sorted(modules_folder.glob("*")) if modules_folder.is_dir() else []:
        if stray.name not in listed:
            result.problems.append(
                Problem(
                    f"{shown}/{layout.MODULES_FOLDER}/{stray.name}",
                    None,
                    "",
                    "is not a module listed in programme.yaml (`modules:`), nor its question "
                    "bank: list it, or move it out of the folder",
                )
            )
    _read_job_aids(result, folder, shown, modules)
    for key, name in layout.PAIR_FILES.items():
        if key in data:
            result.problems.append(
                result.problem((key,), f"in a programme folder the {key} is the file {name}")
            )
            continue
        path = folder / name
        if path.is_file():
            part = _read_part(result, path, f"{shown}/{name}", (key,))
            if part is not None:
                data[key] = part
    data["modules"] = modules
    result.data = data
    return result


def _read_job_aids(
    result: ParsedFile, folder: Path, shown: str, modules: list[dict[str, Any]]
) -> None:
    """Fill each job aid a module names with its file's text from `job-aids/`; a file no module
    names is a problem (nothing lies unused), and so is one named but missing."""
    aids = folder / layout.JOB_AIDS_FOLDER
    named: set[str] = set()
    for index, module in enumerate(modules):
        for a_index, aid in enumerate(module.get("job_aids") or []):
            if not isinstance(aid, dict) or not isinstance(aid.get("file"), str):
                continue  # the schema names what is wrong with it
            location = ("modules", index, "job_aids", a_index)
            if "content" in aid:
                result.problems.append(
                    result.problem(
                        (*location, "content"),
                        f"a job aid's text is its file in {layout.JOB_AIDS_FOLDER}/, not a key",
                    )
                )
                continue
            name = aid["file"]
            named.add(name)
            path = aids / name
            if not path.is_file():
                result.problems.append(
                    result.problem(
                        (*location, "file"), f"no file {shown}/{layout.JOB_AIDS_FOLDER}/{name}"
                    )
                )
                continue
            text, problems = _read_text(path, f"{shown}/{layout.JOB_AIDS_FOLDER}/{name}")
            result.problems.extend(problems)
            if text is not None:
                aid["content"] = text
    for stray in sorted(aids.glob("*")) if aids.is_dir() else []:
        if stray.name not in named:
            result.problems.append(
                Problem(
                    f"{shown}/{layout.JOB_AIDS_FOLDER}/{stray.name}",
                    None,
                    "",
                    "is not named by any module's `job_aids:`: name it, or remove it",
                )
            )


def _read_part(result: ParsedFile, path: Path, shown: str, prefix: tuple[Any, ...]) -> Any:
    """Read one YAML file of a programme folder and register where its values came from."""
    text, problems = _read_text(path, shown)
    if text is None:
        result.problems.extend(problems)
        return None
    data, lines, problems = _read_yaml(text, shown)
    result.problems.extend(problems)
    if problems:
        return None
    result.sources.add(prefix, _source(shown, lines))  # type: ignore[union-attr]
    return data


def _assemble_module(
    result: ParsedFile, index: int, module_id: str, path: Path, shown: str
) -> dict[str, Any] | None:
    text, problems = _read_text(path, shown)
    if text is None:
        result.problems.extend(problems)
        return None
    try:
        front_text, markdown, first_line = layout.split_front_matter(text)
        front, lines, problems = _read_yaml(front_text, shown, offset=1)
        result.problems.extend(problems)
        if problems:
            return None
        if not isinstance(front, dict):
            raise LayoutError("the front matter must be a mapping (title, stage, objectives)", 2)
        sections = layout.parse_sections(markdown, first_line)
    except LayoutError as error:
        result.problems.append(Problem(shown, error.line, error.field, str(error)))
        return None
    assert result.sources is not None
    result.sources.add(("modules", index), _source(shown, lines, offset=1))
    result.sources.add(
        ("modules", index, "lesson"), Source(shown, layout.section_line_of(sections))
    )
    given_id = front.pop("id", module_id)
    if given_id != module_id:
        result.problems.append(
            Problem(
                shown,
                lines.line_of(("id",)) or 2,
                "id",
                f"is {given_id!r} but the file is "
                f"named for {module_id!r}: a module's id is its file name",
            )
        )
        return None
    if "lesson" in front or "assessment" in front:
        result.problems.append(
            Problem(
                shown,
                2,
                "",
                "the lesson is the Markdown below the front matter and the "
                "knowledge check is the .questions.yaml file beside it, not front matter keys",
            )
        )
        return None
    lesson = []
    for position, section in enumerate(sections):
        item: dict[str, Any] = {"id": section.id, "title": section.title, "body": section.body}
        if section.objectives is not None:
            item["objectives"] = section.objectives
        if section.include is not None:
            result.includes.append((index, position, section.include))
        lesson.append(item)
    return {"id": module_id, **front, "lesson": lesson}


def resolve_includes(folders: list[ParsedFile]) -> None:
    """Fill each included section with the title and body of the section it names, from any
    programme folder of the tree; an unknown or chained include is a problem at its heading."""
    written: dict[str, dict[str, Any]] = {}
    for item in folders:
        if item.data is None or item.problems:
            continue
        including = {(m, s) for m, s, _ in item.includes}
        for m_index, module in enumerate(item.data.get("modules", [])):
            for s_index, section in enumerate(module.get("lesson", [])):
                if (m_index, s_index) not in including:
                    written[f"{item.data.get('id')}/{module['id']}/{section['id']}"] = section
    for item in folders:
        for m_index, s_index, ref in item.includes:
            section = item.data["modules"][m_index]["lesson"][s_index]  # type: ignore[index]
            location = ("modules", m_index, "lesson", s_index)
            if not layout.INCLUDE_REF.match(ref):
                item.problems.append(
                    item.problem(location, f"include={ref} names programme-id/module-id/section-id")
                )
                continue
            source = written.get(ref)
            if source is None:
                item.problems.append(
                    item.problem(
                        location,
                        f"include={ref}: no such section written in the curricula being read "
                        "(an included section cannot itself be an include)",
                    )
                )
                continue
            if section["body"]:
                item.problems.append(
                    item.problem(
                        (*location, "body"),
                        f"an included section has no text of its own (it shows {ref})",
                    )
                )
                continue
            section["title"] = section["title"] or source["title"]
            section["body"] = source["body"]
            section["included_from"] = ref


def discover(path: Path) -> list[Path]:
    """The curriculum documents at `path`: a file, a programme folder, or every *.yaml file and
    programme folder below a folder (the files inside a programme folder belong to it)."""
    if path.is_file() or layout.is_programme_folder(path):
        return [path]
    folders = sorted(p.parent for p in path.rglob(layout.PROGRAMME_FILE))
    files = [
        p
        for p in sorted(path.rglob("*.y*ml"))
        if p.is_file() and not any(folder in p.parents for folder in folders)
    ]
    return sorted([*folders, *files])


def parse_tree(path: Path) -> list[ParsedFile]:
    """Parse every document under `path`, then check what only the whole set can show."""
    base = path if path.is_dir() and not layout.is_programme_folder(path) else path.parent
    parsed: list[ParsedFile] = []
    folders: list[ParsedFile] = []
    found_paths = discover(path)
    # Figures first: programmes write `{{ figure('id') }}` and are validated with them filled in.
    figures_file = next((p for p in found_paths if p.name == "figures.yaml"), None)
    figures_parsed = None
    if figures_file is not None:
        shown = str(figures_file.relative_to(base.parent))
        figures_parsed = parse_file(figures_file, shown, figures={})
        figures_doc = figures_parsed.document
        figures = dict(figures_doc.figures) if isinstance(figures_doc, schema.Figures) else {}
    else:  # a programme folder or file checked on its own: the figures of its curricula
        figures = _figures_near(path / "programmes") if path.is_dir() else _figures_near(path)
    for found in found_paths:
        shown = str(found.relative_to(base.parent))
        if layout.is_programme_folder(found):
            item = assemble_programme(found, shown)
            folders.append(item)
        elif found == figures_file and figures_parsed is not None:
            item = figures_parsed  # read once, above
        else:
            item = parse_file(found, shown, figures=figures)
        parsed.append(item)
    resolve_includes(folders)
    for item in folders:
        validate(item, figures)
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
                item.problem(("id",), f"{ident!r} is already used by {seen[ident]}")
            )
            item.document = None
        else:
            seen[ident] = item.display
    _check_taught_by(parsed)
    _check_equivalences(parsed)
    return parsed


def _check_equivalences(parsed: list[ParsedFile]) -> None:
    """Each objective an equivalence names exists. (An equivalence judged for an older major
    version of a programme loads but credits nothing; the linter asks for its review.)"""
    programmes = {
        item.document.id: item.document
        for item in parsed
        if isinstance(item.document, schema.Programme)
    }
    objectives = {
        f"{programme.id}/{module.id}/{objective.id}"
        for programme in programmes.values()
        for module in programme.modules
        for objective in module.objectives
    }
    # A programme refused for its own problems is not also reported through its equivalences.
    broken = {
        item.data.get("id")
        for item in parsed
        if item.document is None and isinstance(item.data, dict)
    }
    for item in parsed:
        document = item.document
        if not isinstance(document, schema.Equivalences) or not programmes:
            continue
        for index, equivalence in enumerate(document.equivalences):
            for o_index, ref in enumerate(equivalence.objectives):
                if ref not in objectives and ref.split("/")[0] not in broken:
                    item.problems.append(
                        item.problem(
                            ("equivalences", index, "objectives", o_index),
                            f"no objective {ref} (programme/module/objective) in the curricula",
                        )
                    )
        if item.problems:
            item.document = None


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
