"""Loading validated curriculum files into the database, idempotently and by stable ids.

`load_curricula` writes nothing unless every file is valid; the caller commits, so a load is
one transaction. Content is matched by its ids, never by position: a reordered or edited module
keeps its row (and every learner record pointing at it); a removed one is marked retired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lms.adoption.loading import load_feature_catalogue
from lms.assessments.loading import load_assessments
from lms.certificates.operations import expire_for_new_major
from lms.core.timeutil import now_utc
from lms.curricula import schema
from lms.curricula.files import ParsedFile, Problem, parse_tree
from lms.curricula.glossary import load_glossary
from lms.curricula.models import (
    ContentVersion,
    FrameworkDocument,
    JobAid,
    LessonSection,
    Module,
    Objective,
    Programme,
    Stage,
)
from lms.demonstrations.loading import load_demonstrations
from lms.extensions import db
from lms.learning.credit import load_equivalences


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: What a load changes below the documents, one line each ("module ... created",
    #: "question ... new version 3"): what `curricula load --dry-run` prints.
    changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _document_id(parsed: ParsedFile) -> str:
    return getattr(parsed.document, "id", None) or "figures"


def _latest_versions() -> dict[str, ContentVersion]:
    """The version of each document loaded last (later rows overwrite earlier ones)."""
    return {
        row.document: row
        for row in db.session.scalars(select(ContentVersion).order_by(ContentVersion.id))
    }


def _check_versions(parsed: list[ParsedFile]) -> list[Problem]:
    """A changed file must carry a higher version than the one loaded before."""
    loaded = _latest_versions()
    problems = []
    for item in parsed:
        previous = loaded.get(_document_id(item))
        if previous is None or previous.content_hash == item.content_hash:
            continue
        version = item.document.version  # type: ignore[union-attr]
        if _version_tuple(version) <= _version_tuple(previous.version):
            problems.append(
                Problem(
                    item.display,
                    item.line_of("version"),
                    "version",
                    f"the content changed since version {previous.version} was loaded; "
                    "raise the version (major for changes that invalidate certificates, "
                    "minor for new content, patch for corrections)",
                )
            )
    return problems


def validate_curricula(path: Path) -> tuple[list[ParsedFile], list[Problem]]:
    parsed = parse_tree(path)
    problems = [problem for item in parsed for problem in item.problems]
    if not parsed:
        problems.append(Problem(str(path), None, "", "holds no curriculum files (*.yaml)"))
    return parsed, problems


def load_curricula(path: Path) -> LoadReport:
    """Validate every file under `path` and, only if all are valid, load them."""
    report = LoadReport()
    parsed, report.problems = validate_curricula(path)
    if report.problems:
        return report
    report.problems = _check_versions(parsed)
    if report.problems:
        return report
    # The framework first: programmes place their modules in its stages.
    order = {
        "figures": 0,
        "framework": 1,
        "programme": 2,
        "featurecatalogue": 3,
        "equivalences": 4,
        "glossary": 5,
    }
    parsed.sort(key=lambda item: order.get(item.kind, 3))
    if not any(item.kind == "framework" for item in parsed) and not db.session.scalar(
        select(Stage.id).limit(1)
    ):
        report.problems.append(
            Problem(
                str(path),
                None,
                "",
                "load the framework (framework.yaml) first or with it: "
                "programmes place their modules in its stages",
            )
        )
        return report
    latest = _latest_versions()
    for item in parsed:
        document_id = _document_id(item)
        previous = latest.get(document_id)
        if previous is not None and previous.content_hash == item.content_hash:
            report.unchanged.append(document_id)
            continue
        document = item.document
        if isinstance(document, schema.Programme):
            report.changes.extend(_load_programme(document, item.content_hash))
        elif isinstance(document, schema.Framework):
            _load_framework(document, item.content_hash)
        elif isinstance(document, schema.FeatureCatalogue):
            load_feature_catalogue(document)
        elif isinstance(document, schema.Equivalences):
            report.changes.extend(load_equivalences(document))
        elif isinstance(document, schema.Glossary):
            report.changes.extend(load_glossary(document))
        (report.updated if previous is not None else report.created).append(document_id)
        db.session.add(
            ContentVersion(
                document=document_id,
                kind=item.kind,
                path=item.display,
                version=document.version,  # type: ignore[union-attr]
                content_hash=item.content_hash,
            )
        )
    db.session.flush()
    return report


def _load_programme(document: schema.Programme, content_hash: str) -> list[str]:
    """Create or update one programme by stable ids; returns what changed, line by line."""
    changes: list[str] = []
    programme = db.session.scalar(select(Programme).where(Programme.slug == document.id))
    if programme is None:
        programme = Programme(slug=document.id)
        db.session.add(programme)
    previous_version = programme.version if programme.id else None
    changes.append(
        f"programme {document.id}: "
        + (f"{previous_version} -> {document.version}" if previous_version else "created")
    )
    programme.kind = document.kind
    programme.title = document.title
    programme.summary = document.summary
    programme.source = document.source
    programme.version = document.version
    programme.content_hash = content_hash
    programme.loaded_at = now_utc()
    programme.retired_at = None
    # The completion list is kept as the last stage's requirements: the engine evaluates it
    # like a gate, and a met one completes the programme instead of promoting.
    programme.gates = {
        stage: [{"kind": kind, "ref": ref} for item in items for kind, ref in item.items()]
        for stage, items in [*document.gates.items(), ("partnership", document.completion)]
    }

    existing = {module.slug: module for module in programme.modules} if programme.id else {}
    now = now_utc()
    for position, source in enumerate(document.modules, start=1):
        module = existing.pop(source.id, None)
        where = f"{document.id}/{source.id}"
        if module is None:
            module = Module(slug=source.id, programme=programme)
            db.session.add(module)
            changes.append(f"module {where}: created")
        else:
            before = (module.title, module.summary, module.stage_id, module.retired_at)
            if before != (source.title, source.summary, source.stage, None):
                changes.append(f"module {where}: updated")
        module.position = position
        module.title = source.title
        module.summary = source.summary
        module.stage_id = source.stage
        module.estimated_minutes = source.estimated_minutes
        module.prerequisites = list(source.prerequisites)
        module.retired_at = None
        changes.extend(_load_objectives(module, source.objectives, where))
        changes.extend(_load_sections(module, source, where))
        changes.extend(_load_job_aids(module, source, where))
    for retired in existing.values():
        if retired.retired_at is None:
            changes.append(f"module {document.id}/{retired.slug}: retired")
        retired.retired_at = retired.retired_at or now
        retired.position = 1000 + retired.position
    db.session.flush()
    modules = {module.slug: module for module in programme.modules}
    changes += load_assessments(
        programme,
        [
            (modules[source.id], "module", source.assessment)
            for source in document.modules
            if source.assessment is not None
        ]
        + [
            (None, purpose, assessment)
            for purpose, assessment in (
                ("pre", document.pre_assessment),
                ("post", document.post_assessment),
            )
            if assessment is not None
        ],
    )
    load_demonstrations(programme, document)
    if (
        previous_version
        and _version_tuple(document.version)[0] > _version_tuple(previous_version)[0]
    ):
        # A new major version changes what a stage certifies: earlier certificates expire.
        expire_for_new_major(programme)
    return changes


def _sync_by_slug(
    rows: list[Any],
    sources: list[Any],
    make: Callable[[Any], Any],
    fill: Callable[[Any, Any], None],
    fingerprint: Callable[[Any], tuple[Any, ...]],
    label: Callable[[str], str],
) -> list[str]:
    """Match rows to sources by slug: create the new, update the rest in file order, retire
    (never delete) those that left the file, since learner records point at them. Returns
    what changed, a line each, as `label(slug)` + ": created/updated/retired"."""
    changes = []
    existing = {row.slug: row for row in rows}
    now = now_utc()
    for position, source in enumerate(sources, start=1):
        row = existing.pop(source.id, None)
        before = None
        if row is None:
            row = make(source)
            db.session.add(row)
        else:
            before = (*fingerprint(row), row.retired_at)
        row.position = position
        fill(row, source)
        row.retired_at = None
        if before is None:
            changes.append(f"{label(source.id)}: created")
        elif before != (*fingerprint(row), None):
            changes.append(f"{label(source.id)}: updated")
    for retired in existing.values():
        if retired.retired_at is None:
            changes.append(f"{label(retired.slug)}: retired")
        retired.retired_at = retired.retired_at or now
        retired.position = 1000 + retired.position
    return changes


def _load_sections(module: Module, source_module: schema.Module, where: str) -> list[str]:
    def fill(section: LessonSection, source: schema.LessonSection) -> None:
        section.title = source.title
        section.body = source.body
        section.objectives = source_module.section_objectives(source)
        section.included_from = source.included_from

    return _sync_by_slug(
        module.sections if module.id else [],
        source_module.lesson,
        lambda source: LessonSection(slug=source.id, module=module),
        fill,
        lambda section: (section.title, section.body),
        lambda slug: f"section {where}#{slug}",
    )


def _load_job_aids(module: Module, source_module: schema.Module, where: str) -> list[str]:
    def fill(aid: JobAid, source: schema.JobAid) -> None:
        aid.title = source.title
        aid.filename = source.file
        aid.objective = source.objective
        aid.content = source.content

    return _sync_by_slug(
        module.job_aids if module.id else [],
        source_module.job_aids,
        lambda source: JobAid(slug=source.id, module=module),
        fill,
        lambda aid: (aid.title, aid.content),
        lambda slug: f"job aid {where}/{slug}",
    )


def _load_objectives(module: Module, objectives: list[schema.Objective], where: str) -> list[str]:
    def fill(objective: Objective, source: schema.Objective) -> None:
        objective.text = source.text

    return _sync_by_slug(
        module.objectives if module.id else [],
        objectives,
        lambda source: Objective(slug=source.id, module=module),
        fill,
        lambda objective: (objective.text,),
        lambda slug: f"objective {where}/{slug}",
    )


def _load_framework(document: schema.Framework, content_hash: str) -> None:
    row = db.session.scalar(select(FrameworkDocument).where(FrameworkDocument.slug == document.id))
    if row is None:
        row = FrameworkDocument(slug=document.id)
        db.session.add(row)
    row.title = document.title
    row.version = document.version
    row.content_hash = content_hash
    row.loaded_at = now_utc()
    row.content = document.model_dump(mode="json", by_alias=True)

    stages = {stage.id: stage for stage in db.session.scalars(select(Stage))}
    # Positions are unique: move existing rows out of the way before renumbering.
    for stage in stages.values():
        stage.position = stage.position + 100
    db.session.flush()
    for position, source in enumerate(document.stages, start=1):
        stage = stages.get(source.id) or Stage(id=source.id)
        db.session.add(stage)
        stage.position = position
        stage.name = source.name
        stage.window_start_day = source.window_start_day
        stage.window_end_day = source.window_end_day
        stage.focus = source.focus
