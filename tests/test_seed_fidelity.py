"""The curricula in `curricula/` say what the seed documents say.

Seeds 000-003 are deep-dive curricula ("Module N: Title" lines, "- objective" bullets); each is
the `source` of one programme file, whose modules and objectives must carry the seed's words.
Seed 004 is the adoption framework in Markdown: its platform tracks are five programmes, the rest
lives in framework.yaml. Wording may only differ from a seed where EDITED says so, and why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from lms.curricula.files import parse_tree
from lms.curricula.schema import Figures, Framework, Programme
from tests.conftest import CURRICULA, SEEDS

# Seed text -> (the text the curriculum uses instead, why it differs). Empty while the
# curricula quote the seeds exactly; an edit (a typo fixed, a sentence split) goes here.
EDITED: dict[str, tuple[str, str]] = {}

CURRICULUM_SEEDS = {
    "000_9128527b1405a6b3.txt": 8,
    "001_2ef141349346c61d.txt": 7,
    "002_985cc05a91e834d9.txt": 8,
    "003_bdf1a4447dc88509.txt": 7,
}
FRAMEWORK_SEED = "004_dec7d0fb0b57cf1d.txt"
# The platform tracks of seed 004 (bold headings under "Marketing Platform Training Curricula")
# and the programme that teaches each.
PLATFORM_TRACKS = {
    "Marketing Automation Platform Training": "marketing-automation-platform",
    "Marketing Analytics Platform Training": "marketing-analytics-platform",
    "Cross-Domain Integration Training": "cross-domain-integration",
    "AI and Machine Learning Integration": "ai-machine-learning",
    "Automation and Workflow Training": "automation-workflow",
}
INTEGRATION_DOMAINS = {
    "Sales Domain Integration Training": "sales",
    "Product Domain Integration Training": "product",
    "Customer Success Domain Integration": "customer-success",
    "Finance Domain Integration Training": "finance",
}
PROCEDURES = [
    "Campaign Creation and Launch Workflow",
    "Cross-Channel Coordination Workflow",
    "Executive Reporting Workflow",
    "Performance Optimization Workflow",
]


def as_in_curricula(seed_text: str) -> str:
    """The text the curricula should hold for `seed_text`: the same, unless EDITED says so."""
    return EDITED.get(seed_text, (seed_text, ""))[0]


# --- Reading the seeds -----------------------------------------------------------------------


@dataclass
class SeedModule:
    number: int
    title: str
    objectives: list[str] = field(default_factory=list)


@dataclass
class SeedCurriculum:
    summary: str
    modules: list[SeedModule]


MODULE_LINE = re.compile(r"^Module (\d+): (.+)$")


def read_curriculum_seed(name: str) -> SeedCurriculum:
    lines = [line.strip() for line in (SEEDS / name).read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    modules: list[SeedModule] = []
    for line in lines[1:]:
        if match := MODULE_LINE.match(line):
            modules.append(SeedModule(int(match.group(1)), match.group(2)))
        elif line.startswith("- "):
            modules[-1].objectives.append(line[2:])
        else:
            raise AssertionError(f"{name}: unexpected line {line!r}")
    return SeedCurriculum(summary=lines[0], modules=modules)


@dataclass
class SeedFramework:
    """Seed 004, read by headings: bulleted items, numbered steps and checkboxes per heading."""

    items: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    steps: dict[str, list[tuple[int, str, str]]] = field(default_factory=lambda: defaultdict(list))
    checkboxes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sections: dict[str, str] = field(default_factory=dict)  # bold heading -> its ## section


BOLD_HEADING = re.compile(r"^\*\*(.+):\*\*$")
ITEM = re.compile(r"^- \*\*(.+?):\*\* (.+)$")
STEP = re.compile(r"^(\d+)\. \*\*(.+?):\*\* (.+)$")
CHECKBOX = re.compile(r"^- \[ \] (.+)$")


def read_framework_seed() -> SeedFramework:
    seed = SeedFramework()
    section = subsection = heading = ""
    for raw in (SEEDS / FRAMEWORK_SEED).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("## "):
            section, subsection, heading = line[3:], "", ""
        elif line.startswith("### "):
            subsection, heading = line[4:], ""
        elif match := BOLD_HEADING.match(line):
            heading = match.group(1)
            seed.sections[heading] = section
        elif match := ITEM.match(line):
            seed.items[heading].append((match.group(1), match.group(2)))
        elif match := STEP.match(line):
            seed.steps[heading].append((int(match.group(1)), match.group(2), match.group(3)))
        elif match := CHECKBOX.match(line):
            seed.checkboxes[subsection].append(match.group(1))
    return seed


# --- Reading the curricula -------------------------------------------------------------------


def _documents() -> list:
    documents = []
    for parsed in parse_tree(CURRICULA):
        assert parsed.problems == [], parsed.problems
        documents.append(parsed.document)
    return documents


DOCUMENTS = _documents()
PROGRAMMES = {d.id: d for d in DOCUMENTS if isinstance(d, Programme)}
FRAMEWORK = next(d for d in DOCUMENTS if isinstance(d, Framework))
FIGURES = next(d for d in DOCUMENTS if isinstance(d, Figures))


def programme_for_source(name: str) -> Programme:
    found = [p for p in PROGRAMMES.values() if p.source == name]
    assert len(found) == 1, f"{len(found)} programmes name {name} as their source"
    return found[0]


# --- Seeds 000-003 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "modules"), CURRICULUM_SEEDS.items())
def test_seed_has_the_expected_shape(name: str, modules: int) -> None:
    seed = read_curriculum_seed(name)
    assert [m.number for m in seed.modules] == list(range(1, modules + 1))
    assert [len(m.objectives) for m in seed.modules] == [6] * modules


@pytest.mark.parametrize("name", CURRICULUM_SEEDS)
def test_every_module_title_is_in_the_curriculum(name: str) -> None:
    seed = read_curriculum_seed(name)
    programme = programme_for_source(name)
    assert programme.kind == "curriculum"
    assert [m.title for m in programme.modules] == [as_in_curricula(m.title) for m in seed.modules]


@pytest.mark.parametrize("name", CURRICULUM_SEEDS)
def test_every_objective_is_in_its_module_verbatim(name: str) -> None:
    seed = read_curriculum_seed(name)
    programme = programme_for_source(name)
    by_title = {m.title: m for m in programme.modules}
    missing = []
    for seed_module in seed.modules:
        module = by_title[as_in_curricula(seed_module.title)]
        texts = [o.text for o in module.objectives]
        missing += [
            (seed_module.number, bullet)
            for bullet in seed_module.objectives
            if as_in_curricula(bullet) not in texts
        ]
        # Nothing invented beside them: one objective per seed bullet.
        assert len(texts) == len(seed_module.objectives) == 6, module.id
    assert missing == []


@pytest.mark.parametrize("name", CURRICULUM_SEEDS)
def test_programme_summary_is_the_seed_introduction(name: str) -> None:
    seed = read_curriculum_seed(name)
    assert programme_for_source(name).summary == as_in_curricula(seed.summary)


def test_every_curriculum_programme_has_a_seed() -> None:
    sources = sorted(p.source for p in PROGRAMMES.values() if p.kind == "curriculum")
    assert sources == sorted(CURRICULUM_SEEDS)


def test_edited_texts_are_explained_and_used() -> None:
    seed_texts: set[str] = set()
    for name in CURRICULUM_SEEDS:
        seed = read_curriculum_seed(name)
        seed_texts.add(seed.summary)
        for module in seed.modules:
            seed_texts.add(module.title)
            seed_texts.update(module.objectives)
    for original, (edited, reason) in EDITED.items():
        assert original in seed_texts, f"EDITED names text no seed holds: {original!r}"
        assert edited != original and reason.strip(), original


def test_the_edit_mechanism_catches_a_changed_word() -> None:
    seed = read_curriculum_seed("000_9128527b1405a6b3.txt")
    first = seed.modules[0].objectives[0]
    module = programme_for_source("000_9128527b1405a6b3.txt").modules[0]
    texts = [o.text for o in module.objectives]
    assert as_in_curricula(first) in texts
    assert as_in_curricula(first.replace("KPIs", "KPI")) not in texts


# --- Seed 004 --------------------------------------------------------------------------------


FRAMEWORK_SEED_TEXT = read_framework_seed()


def test_the_five_platform_tracks_are_the_platform_track_programmes() -> None:
    seed_tracks = [
        heading
        for heading, section in FRAMEWORK_SEED_TEXT.sections.items()
        if section == "Marketing Platform Training Curricula"
    ]
    assert seed_tracks == list(PLATFORM_TRACKS)
    platform = sorted(p.id for p in PROGRAMMES.values() if p.kind == "platform-track")
    assert platform == sorted(PLATFORM_TRACKS.values())
    for slug in PLATFORM_TRACKS.values():
        assert PROGRAMMES[slug].source == FRAMEWORK_SEED


@pytest.mark.parametrize(("track", "slug"), PLATFORM_TRACKS.items())
def test_every_track_topic_is_a_module_with_its_description(track: str, slug: str) -> None:
    programme = PROGRAMMES[slug]
    assert programme.title == as_in_curricula(track)
    seed_topics = FRAMEWORK_SEED_TEXT.items[track]
    assert len(seed_topics) >= 4
    modules = [(m.title, m.summary) for m in programme.modules]
    assert modules == [(as_in_curricula(t), as_in_curricula(d)) for t, d in seed_topics]


@pytest.mark.parametrize("slug", PLATFORM_TRACKS.values())
def test_track_objectives_come_from_the_topic_description(slug: str) -> None:
    for module in PROGRAMMES[slug].modules:
        for objective in module.objectives:
            assert objective.text.lower() in module.summary.lower(), (module.id, objective.text)


def test_the_five_stage_lines() -> None:
    seed_lines = [f"{t}: {d}" for t, d in FRAMEWORK_SEED_TEXT.items["Adoption Success Stages"]]
    assert len(seed_lines) == 5
    assert [s.source_text for s in FRAMEWORK.stages] == [as_in_curricula(x) for x in seed_lines]
    for stage, (title, description) in zip(
        FRAMEWORK.stages, FRAMEWORK_SEED_TEXT.items["Adoption Success Stages"], strict=True
    ):
        assert title.startswith(stage.name + " (")
        assert stage.focus == description


def test_stage_windows_match_the_seed_days() -> None:
    windows = [(s.id, s.window_start_day, s.window_end_day) for s in FRAMEWORK.stages]
    assert windows[:4] == [
        ("initial", 0, 30),
        ("proficiency", 30, 60),
        ("expert", 60, 90),
        ("innovation", 90, None),
    ]
    assert windows[4][0] == "partnership" and windows[4][2] is None


def test_every_step_of_the_four_workflow_procedures() -> None:
    assert [p.title for p in FRAMEWORK.procedures] == PROCEDURES
    for procedure in FRAMEWORK.procedures:
        seed_steps = FRAMEWORK_SEED_TEXT.steps[procedure.title]
        assert len(seed_steps) >= 5, procedure.title
        assert [(s.number, s.title, s.description) for s in procedure.steps] == [
            (n, as_in_curricula(t), as_in_curricula(d)) for n, t, d in seed_steps
        ]


def test_every_best_practice() -> None:
    seed_groups = {
        heading: items
        for heading, items in FRAMEWORK_SEED_TEXT.items.items()
        if FRAMEWORK_SEED_TEXT.sections[heading] == "Best Practices for Marketing Technology Usage"
    }
    assert len(seed_groups) == 4
    assert [g.title for g in FRAMEWORK.best_practices] == list(seed_groups)
    for group in FRAMEWORK.best_practices:
        assert [(i.title, i.description) for i in group.items] == [
            (as_in_curricula(t), as_in_curricula(d)) for t, d in seed_groups[group.title]
        ]


def test_every_acceptance_criterion() -> None:
    seed = FRAMEWORK_SEED_TEXT.checkboxes
    assert sum(len(v) for v in seed.values()) == 15
    assert [g.title for g in FRAMEWORK.acceptance_criteria] == list(seed)
    for group in FRAMEWORK.acceptance_criteria:
        assert [c.text for c in group.criteria] == [as_in_curricula(t) for t in seed[group.title]]


def test_acceptance_criteria_metrics_are_figures() -> None:
    metrics = [c.metric for g in FRAMEWORK.acceptance_criteria for c in g.criteria if c.metric]
    assert len(metrics) == 5
    assert set(metrics) <= set(FIGURES.figures)


def test_the_four_integration_domains_and_their_items() -> None:
    assert [d.id for d in FRAMEWORK.integration_domains] == list(INTEGRATION_DOMAINS.values())
    for domain in FRAMEWORK.integration_domains:
        seed_items = FRAMEWORK_SEED_TEXT.items[domain.title]
        assert INTEGRATION_DOMAINS[domain.title] == domain.id
        assert len(seed_items) == 5
        assert [(i.title, i.description) for i in domain.items] == [
            (as_in_curricula(t), as_in_curricula(d)) for t, d in seed_items
        ]


def test_every_titled_bullet_of_004_is_somewhere_in_the_curricula() -> None:
    """The success criteria, technical integration and continuous learning too: no bullet of
    the framework is left out."""
    held: set[tuple[str, str]] = set()
    for programme in PROGRAMMES.values():
        held.update((m.title, m.summary or "") for m in programme.modules)
    content = FRAMEWORK.model_dump(mode="json")
    for key in ("best_practices", "success_criteria", "integration_domains", "continuous_learning"):
        for group in content[key]:
            held.update((i["title"], i["description"]) for i in group["items"])
    held.update((i["title"], i["description"]) for i in content["technical_integration"]["items"])
    stage_bullets = set(FRAMEWORK_SEED_TEXT.items["Adoption Success Stages"])
    missing = [
        (heading, title)
        for heading, items in FRAMEWORK_SEED_TEXT.items.items()
        for title, description in items
        if (as_in_curricula(title), as_in_curricula(description)) not in held
        and (title, description) not in stage_bullets
    ]
    assert missing == []
    assert sum(len(items) for items in FRAMEWORK_SEED_TEXT.items.values()) > 100


def test_framework_summary_is_the_seed_overview() -> None:
    text = (SEEDS / FRAMEWORK_SEED).read_text(encoding="utf-8")
    overview = text.split("## Overview", 1)[1].strip().splitlines()[0]
    assert FRAMEWORK.summary == as_in_curricula(overview)
    assert FRAMEWORK.source == FRAMEWORK_SEED


# --- Figures quote their seeds ---------------------------------------------------------------

QUOTE = re.compile(r"“([^”]+)”")


def test_figure_sources_quote_the_seeds_verbatim() -> None:
    raw = yaml.safe_load((CURRICULA / "figures.yaml").read_text(encoding="utf-8"))
    checked = 0
    for key, figure in raw["figures"].items():
        source = figure["source"]
        seed_name = source.split(",", 1)[0]
        if not (SEEDS / seed_name).exists():
            assert source.startswith("Product rule"), key
            continue
        quotes = QUOTE.findall(source)
        assert quotes, key
        for quote in quotes:
            # A quote may name a second seed after a semicolon; look in every seed it names.
            names = {seed_name, *re.findall(r"\d{3}_[0-9a-f]{16}\.txt", source)}
            # Compared as plain text: whitespace collapsed, Markdown bold marks dropped.
            texts = " ".join(
                " ".join((SEEDS / n).read_text(encoding="utf-8").replace("**", "").split())
                for n in names
            )
            assert quote in texts, (key, quote)
            checked += 1
    assert checked >= 30


def test_seed_files_are_the_ones_the_curricula_name() -> None:
    names = {p.source for p in PROGRAMMES.values()} | {FRAMEWORK.source}
    assert names == set(CURRICULUM_SEEDS) | {FRAMEWORK_SEED}
    assert all(Path(SEEDS / n).is_file() for n in names)
