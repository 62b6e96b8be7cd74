"""Programmes, modules, objectives, the adoption stages and the framework, as loaded from files.

Content rows are never deleted: a module or objective that leaves its file is marked retired,
so learner records that refer to it keep their meaning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.timeutil import now_utc
from lms.extensions import db


class Programme(db.Model):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=now_utc)
    retired_at: Mapped[datetime | None]
    #: Gate requirements per stage id: {"initial": [{"kind": ..., "ref": ...}], ...}.
    gates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    modules: Mapped[list[Module]] = relationship(
        back_populates="programme", order_by="Module.position"
    )


class Module(db.Model):
    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("programme_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    stage_id: Mapped[str | None] = mapped_column(ForeignKey("stages.id"))
    #: The author's estimate of the lesson's reading time.
    estimated_minutes: Mapped[int | None]
    #: Slugs of the modules of the same programme to study first.
    prerequisites: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    retired_at: Mapped[datetime | None]

    programme: Mapped[Programme] = relationship(back_populates="modules")
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="module", order_by="Objective.position"
    )
    sections: Mapped[list[LessonSection]] = relationship(
        back_populates="module", order_by="LessonSection.position"
    )
    job_aids: Mapped[list[JobAid]] = relationship(
        back_populates="module", order_by="JobAid.position"
    )


class LessonSection(db.Model):
    """One section of a module's lesson (Markdown); progress is kept per section."""

    __tablename__ = "lesson_sections"
    __table_args__ = (UniqueConstraint("module_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: Slugs of the module's objectives the section teaches.
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    #: "programme/module/section" when the text is written once there and shown here too.
    included_from: Mapped[str | None] = mapped_column(String(250))
    retired_at: Mapped[datetime | None]

    module: Mapped[Module] = relationship(back_populates="sections")


class JobAid(db.Model):
    """A template to download for an objective's artefact, kept with its text so every app
    server can serve it without the curriculum files."""

    __tablename__ = "job_aids"
    __table_args__ = (UniqueConstraint("module_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(120))
    objective: Mapped[str | None] = mapped_column(String(80))
    content: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime | None]

    module: Mapped[Module] = relationship(back_populates="job_aids")

    @property
    def mimetype(self) -> str:
        return "text/csv" if self.filename.endswith(".csv") else "text/markdown"

    @property
    def kind(self) -> str:
        return "CSV" if self.filename.endswith(".csv") else "Markdown"


class Objective(db.Model):
    __tablename__ = "objectives"
    __table_args__ = (UniqueConstraint("module_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime | None]

    module: Mapped[Module] = relationship(back_populates="objectives")


class Stage(db.Model):
    """One of the five adoption stages of the framework (seed 004)."""

    __tablename__ = "stages"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(80))
    window_start_day: Mapped[int]
    window_end_day: Mapped[int | None]
    focus: Mapped[str] = mapped_column(Text)

    @property
    def is_windowed(self) -> bool:
        return self.window_end_day is not None


class FrameworkDocument(db.Model):
    """The adoption framework's content beyond programmes and stages (procedures, best practices,
    success criteria, integration domains), kept as the validated document."""

    __tablename__ = "framework_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=now_utc)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class ContentVersion(db.Model):
    """History: one row each time a curriculum file's content was loaded with a new hash."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    document: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=now_utc)


class GlossaryTerm(db.Model):
    """A term of the glossary (curricula/glossary.yaml); retired, never deleted, when it leaves
    the file, so a link in an old page still finds it."""

    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    term: Mapped[str] = mapped_column(String(120))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    definition: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime | None]
