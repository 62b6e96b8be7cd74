"""The demo organisation: regions and teams, managers, a leader, an admin and learners in
cohorts at different points of their first 90 days.

Deterministic: the same size and the same `today` always give the same data. Sizes follow
DESIGN.md section 9: the default demo has about 40 learners; S, M and L have 100, 1,000 and
10,000. Rows are inserted in bulk so size L takes seconds, not minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, insert, select

from lms.accounts.models import Role, User, user_roles
from lms.accounts.operations import ensure_roles
from lms.accounts.passwords import hash_password
from lms.audit.operations import record
from lms.curricula.models import Programme
from lms.demo.adoption import simulate_adoption
from lms.demo.feedback import simulate_content_reports
from lms.demo.progress import simulate
from lms.extensions import db
from lms.organisation.models import Cohort, Enrolment, OrgUnit, cohort_programmes
from lms.organisation.operations import organisation

DEMO_PASSWORD = "lms-demo"  # noqa: S105 (demo data only, printed by `make run`)
DEMO_ACCOUNTS = {
    "learner@example.com": ("Dana Whitfield", {"learner"}),
    "manager@example.com": ("Marcus Ortega", {"manager"}),
    "leader@example.com": ("Leila Haddad", {"leader"}),
    "admin@example.com": ("Ari Lindqvist", {"admin"}),
}
SIZES = {"demo": 40, "S": 100, "M": 1_000, "L": 10_000}

REGIONS = ["EMEA", "Americas", "APAC", "Nordics"]
TEAMS = [
    "Demand Generation",
    "Marketing Operations",
    "Field Marketing",
    "Product Marketing",
    "Customer Marketing",
    "Brand and Content",
    "Digital Acquisition",
    "Lifecycle Marketing",
]
FIRST = [
    "Amara",
    "Ben",
    "Chiara",
    "Dmitri",
    "Elif",
    "Felix",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aiden",
    "Bianca",
    "Carlos",
    "Divya",
]
LAST = [
    "Achebe",
    "Bergström",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Gupta",
    "Hansen",
    "Ibrahim",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "O'Connor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
]
# Cohort programmes: a platform track with the deep-dive curriculum that goes with it.
PROGRAMME_PAIRS = [
    ("marketing-automation-platform", "integrated-marketing-systems"),
    ("marketing-analytics-platform", "measurement-finance-sales"),
    ("cross-domain-integration", "demand-generation-metrics"),
    ("automation-workflow", "it-budget-allocation"),
]
# Days since each cohort started: spread across the first 90 days and a little beyond.
COHORT_AGES = [80, 25, 45, 95, 5, 60, 30, 110]


class SeedError(RuntimeError):
    pass


@dataclass
class SeedReport:
    learners: int
    teams: int
    regions: int
    cohorts: int
    enrolments: int


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id)))


def seed(size: str = "demo", today: date | None = None) -> SeedReport:
    """Create the demo organisation in an empty database. The caller commits."""
    if size not in SIZES:
        raise SeedError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if not database_is_empty():
        raise SeedError("the database already has users; demo data goes only into a new one")
    programmes = {p.slug: p for p in db.session.scalars(select(Programme))}
    missing = {slug for pair in PROGRAMME_PAIRS for slug in pair} - programmes.keys()
    if missing:
        raise SeedError(f"load the curricula first (missing {', '.join(sorted(missing))})")

    today = today or date.today()
    rng = random.Random(f"lms-demo-{size}")
    learners_wanted = SIZES[size]
    ensure_roles()
    org = organisation()
    org.name = "Northwind Marketing"
    org.time_zone = "Europe/London"

    region_count = 2 if learners_wanted <= 1_000 else 4
    team_count = 3 if learners_wanted <= 100 else min(len(TEAMS), 3 + learners_wanted // 1_000)
    region_rows = [OrgUnit(kind="region", name=name) for name in REGIONS[:region_count]]
    team_rows = [
        OrgUnit(kind="team", name=name, parent=region_rows[i % region_count])
        for i, name in enumerate(TEAMS[:team_count])
    ]
    db.session.add_all(region_rows + team_rows)
    db.session.flush()

    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: every demo account shares it
    role_ids = dict(db.session.execute(select(Role.name, Role.id)).all())
    cohort_count = max(2, learners_wanted // 50)

    people: list[dict] = []
    roles: list[dict] = []

    def add_person(email: str, name: str, role_names: set[str], team: OrgUnit | None) -> int:
        index = len(people) + 1
        people.append(
            {
                "id": index,
                "email": email,
                "name": name,
                "password_hash": password_hash,
                "active": True,
                "team_id": team.id if team else None,
                "external_id": f"mkt-{index:06d}",
                "session_token": f"demo-{index}-{rng.getrandbits(48):x}",
            }
        )
        roles.extend({"user_id": index, "role_id": role_ids[r]} for r in sorted(role_names))
        return index

    start_id = db.session.scalar(select(func.max(User.id))) or 0
    if start_id:
        raise SeedError("the users table is not empty")
    fixed = {}
    for email, (name, role_names) in DEMO_ACCOUNTS.items():
        fixed[email] = add_person(email, name, role_names, team_rows[0])
    managers = [fixed["manager@example.com"]]
    for number in range(2, cohort_count + 1):
        managers.append(
            add_person(
                f"manager{number}@example.com",
                _name(rng),
                {"manager"},
                team_rows[number % team_count],
            )
        )
    learner_ids = [fixed["learner@example.com"]]
    for number in range(2, learners_wanted + 1):
        learner_ids.append(
            add_person(
                f"learner{number}@example.com",
                _name(rng),
                {"learner"},
                team_rows[rng.randrange(team_count)],
            )
        )
    db.session.execute(insert(User), people)
    db.session.execute(insert(user_roles), roles)

    cohorts = []
    for number in range(cohort_count):
        age = COHORT_AGES[number % len(COHORT_AGES)] + number // len(COHORT_AGES)
        start = today - timedelta(days=age)
        cohort = Cohort(
            name=f"{_season(start)} {start.year} cohort {number + 1}",
            start_date=start,
            due_date=start + timedelta(days=120) if number % 2 == 0 else None,
            manager_id=managers[number],
        )
        cohorts.append(cohort)
    db.session.add_all(cohorts)
    db.session.flush()
    links = []
    for number, cohort in enumerate(cohorts):
        pair = PROGRAMME_PAIRS[number % len(PROGRAMME_PAIRS)]
        links.extend({"cohort_id": cohort.id, "programme_id": programmes[s].id} for s in pair)
    db.session.execute(insert(cohort_programmes), links)

    programmes_of = {}
    for link in links:
        programmes_of.setdefault(link["cohort_id"], []).append(link["programme_id"])
    enrolments = []
    for position, user_id in enumerate(learner_ids):
        cohort = cohorts[position % cohort_count]
        # Cohorts enrol on a rolling basis: some learners join weeks after the cohort started,
        # so every cohort has people in more than one stage window.
        late = min(rng.choice([0, 0, 0, 2, 5, 10, 20, 30, 45]), (today - cohort.start_date).days)
        for programme_id in programmes_of[cohort.id]:
            enrolments.append(
                {
                    "user_id": user_id,
                    "programme_id": programme_id,
                    "cohort_id": cohort.id,
                    "start_date": cohort.start_date + timedelta(days=late),
                    "status": "active",
                }
            )
    # The showcase learner joined 40 days ago: far enough in for a story, with work left to do.
    for enrolment in enrolments:
        if enrolment["user_id"] == fixed["learner@example.com"]:
            enrolment["start_date"] = max(enrolment["start_date"], today - timedelta(days=40))
    # About one learner in forty has left their programme.
    for enrolment in enrolments[5::40]:
        if enrolment["user_id"] != fixed["learner@example.com"]:
            enrolment["status"] = "withdrawn"
            enrolment["withdrawal_reason"] = "Moved to another role"
            enrolment["stage_status"] = "withdrawn"
    db.session.execute(insert(Enrolment), enrolments)
    _fix_sequences()
    simulate(today, rng, fixed["learner@example.com"])
    simulate_adoption(today, rng)
    # Its own generator, so the reports never shift what the seed made before them.
    simulate_content_reports(random.Random(f"lms-demo-reports-{size}"), fixed["admin@example.com"])
    record("demo.seeded", target_type="organisation", size=size, learners=len(learner_ids))
    db.session.flush()
    return SeedReport(
        learners=len(learner_ids),
        teams=team_count,
        regions=region_count,
        cohorts=cohort_count,
        enrolments=len(enrolments),
    )


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _season(day: date) -> str:
    return ["Winter", "Spring", "Summer", "Autumn"][(day.month % 12) // 3]


def _fix_sequences() -> None:
    """Explicit ids were inserted; move PostgreSQL's sequence past them."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            db.text(
                "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))"
            )
        )
