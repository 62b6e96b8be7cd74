"""The glossary: terms the lessons use (MQL, CAC, RPO...), defined once in
`curricula/glossary.yaml`, listed on /glossary, and linked from their first use in each lesson
section.

Linking works on the sanitised HTML of a section: only text outside links, code and headings is
touched, each term is linked once per section (its first use), and what is inserted is built
here from escaped values, so a lesson cannot smuggle markup in through a term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select

from lms.core.timeutil import now_utc
from lms.curricula import schema
from lms.curricula.models import GlossaryTerm
from lms.extensions import db

#: Elements whose text is never linked: links themselves, code, and headings.
SKIP = {"a", "code", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
TAG = re.compile(r"(<[^>]+>)")
TAG_NAME = re.compile(r"^</?\s*([a-zA-Z0-9]+)")


def load_glossary(document: schema.Glossary) -> list[str]:
    """Create or update terms by id; a term that leaves the file is retired."""
    existing = {term.slug: term for term in db.session.scalars(select(GlossaryTerm))}
    changes = []
    for source in document.terms:
        term = existing.pop(source.id, None)
        if term is None:
            term = GlossaryTerm(slug=source.id)
            db.session.add(term)
            changes.append(f"glossary term {source.id}: created")
        elif (term.term, term.definition, term.retired_at) != (
            source.term,
            source.definition,
            None,
        ):
            changes.append(f"glossary term {source.id}: updated")
        term.term = source.term
        term.aliases = list(source.aliases)
        term.definition = source.definition
        term.retired_at = None
    for retired in existing.values():
        if retired.retired_at is None:
            changes.append(f"glossary term {retired.slug}: retired")
            retired.retired_at = now_utc()
    db.session.flush()
    return changes


def live_terms() -> list[GlossaryTerm]:
    return list(
        db.session.scalars(
            select(GlossaryTerm)
            .where(GlossaryTerm.retired_at.is_(None))
            .order_by(GlossaryTerm.term)
        )
    )


@dataclass(frozen=True)
class Linker:
    """One compiled pattern for every term: built once per page, used for each section."""

    pattern: re.Pattern[str] | None
    by_group: dict[str, GlossaryTerm]

    def link(self, html: str, href: str) -> Markup:
        """`html` (already sanitised) with each term linked at its first use."""
        if self.pattern is None:
            return Markup(html)  # noqa: S704 (sanitised by the caller)
        linked: set[str] = set()
        skipping: list[str] = []
        out: list[str] = []
        for piece in TAG.split(html):
            if piece.startswith("<"):
                name = TAG_NAME.match(piece)
                tag = name.group(1).lower() if name else ""
                if tag in SKIP:
                    if piece.startswith("</"):
                        if skipping and skipping[-1] == tag:
                            skipping.pop()
                    elif not piece.endswith("/>"):
                        skipping.append(tag)
                out.append(piece)
            elif skipping or not piece:
                out.append(piece)
            else:
                out.append(self._link_text(piece, href, linked))
        return Markup("".join(out))  # noqa: S704 (only escaped values were inserted)

    def _link_text(self, text: str, href: str, linked: set[str]) -> str:
        assert self.pattern is not None
        result: list[str] = []
        last = 0
        for match in self.pattern.finditer(text):
            group = match.lastgroup
            term = self.by_group.get(group or "")
            if term is None or term.slug in linked:
                continue
            linked.add(term.slug)
            result.append(text[last : match.start()])
            result.append(
                f'<a class="term" href="{escape(href)}#term-{escape(term.slug)}" '
                f'title="{escape(first_sentence(term.definition))}">{match.group(0)}</a>'
            )
            last = match.end()
        result.append(text[last:])
        return "".join(result)


def first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return re.sub(r"[*_`]", "", sentence)


def linker(terms: list[GlossaryTerm]) -> Linker:
    """A term written with a capital letter matches as written (MQL, not mql); one in lower
    case matches in any case (holdout, Holdout)."""
    alternatives = []
    by_group: dict[str, GlossaryTerm] = {}
    for index, term in enumerate(terms):
        names = sorted({term.term, *(term.aliases or [])}, key=len, reverse=True)
        parts = []
        for name in names:
            escaped = re.escape(escape(name))  # text in the HTML is escaped: match it so
            parts.append(escaped if name != name.lower() else f"(?i:{escaped})")
        group = f"t{index}"
        by_group[group] = term
        alternatives.append((max(len(n) for n in names), f"(?P<{group}>{'|'.join(parts)})"))
    if not alternatives:
        return Linker(None, {})
    # Longest first, so "customer lifetime value" wins over "value"-like shorter terms.
    ordered = [pattern for _, pattern in sorted(alternatives, key=lambda a: -a[0])]
    return Linker(re.compile(r"(?<![\w-])(?:" + "|".join(ordered) + r")(?![\w-])"), by_group)
