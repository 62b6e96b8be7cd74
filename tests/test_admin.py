"""Administration: who may open it, users (list, create, roles, deactivation), CSV import on the
web and the command line, personal-data export and erasure, teams and the organisation."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts import operations
from lms.accounts.models import AuthToken, User
from lms.audit.models import AuditEvent
from lms.curricula.models import Programme, Stage
from lms.extensions import db
from lms.mail.models import OutboxMessage
from lms.mail.outbox import queue
from lms.organisation.models import Cohort, Enrolment, Organisation, OrgUnit
from lms.organisation.operations import ensure_unit
from lms.privacy import REGISTRY
from tests.conftest import login, make_user, submit

NO_MATCH = "That e-mail address and password do not match an account."


def text(response) -> str:
    """The page's text with HTML entities decoded, so quotes in messages read as typed."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(client: FlaskClient, users) -> FlaskClient:
    login(client, "admin@example.com")
    return client


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return found


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def user_form(email: str, name: str, roles: list[str], **extra: str) -> dict:
    data = {
        "email": email,
        "name": name,
        "roles": roles,
        "team_id": "",
        "time_zone": "",
        "external_id": "",
    }
    data.update(extra)
    return data


# --- who may open the admin pages -------------------------------------------------------------


def _admin_get_urls(app: Flask, user_id: int) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods:
            urls.append(re.sub(r"<int:user_id>", str(user_id), rule.rule))
    return urls


@pytest.mark.parametrize("role", ["manager", "leader", "learner"])
def test_only_admins_reach_admin_pages(app, client, users, role: str) -> None:
    urls = _admin_get_urls(app, users["learner2"])
    assert len(urls) >= 8
    login(client, f"{role}@example.com")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "You do not have access to this page." in text(response)


def test_admin_reaches_every_admin_page(app, admin, users) -> None:
    for url in _admin_get_urls(app, users["learner2"]):
        assert admin.get(url).status_code == 200, url


def test_a_manager_cannot_use_admin_actions_even_with_a_valid_form(app, client, users) -> None:
    login(client, "manager@example.com")
    learner = users["learner"]
    # A CSRF token from a page the manager may open, so only the role check stands in the way.
    response = submit(client, "/", {"status-reason": "x"}, to=f"/admin/users/{learner}/deactivate")
    assert response.status_code == 403
    response = submit(
        client,
        "/",
        user_form("learner@example.com", "Learner", ["admin"]),
        to=f"/admin/users/{learner}",
    )
    assert response.status_code == 403
    with app.app_context():
        user = db.session.get(User, learner)
        assert user.active and user.role_names == {"learner"}


# --- the user list ----------------------------------------------------------------------------


def test_user_list_searches_name_email_and_platform_id(app, admin) -> None:
    with app.app_context():
        zelda = make_user("zelda.marketer@example.com", name="Zelda Marketer")
        zelda.external_id = "CRM-4242"
        db.session.commit()
    for query in ("zelda", "ZELDA MARK", "Zelda.Marketer@", "crm-4242"):
        page = text(admin.get("/admin/users", query_string={"q": query}))
        assert "<td>zelda.marketer@example.com</td>" in page, query
        assert "<td>learner@example.com</td>" not in page, query
    page = text(admin.get("/admin/users", query_string={"q": "nobody-like-this"}))
    assert "No users match." in page


def test_user_list_filters_by_role(admin) -> None:
    page = text(admin.get("/admin/users", query_string={"role": "manager"}))
    assert "<td>manager@example.com</td>" in page
    for other in ("learner@example.com", "leader@example.com", "admin@example.com"):
        assert f"<td>{other}</td>" not in page
    assert "1 in all." in page


def test_user_list_pages_long_lists_in_a_fixed_number_of_queries(app, admin, count_queries) -> None:
    with count_queries() as few:
        assert admin.get("/admin/users").status_code == 200
    with app.app_context():
        for number in range(60):
            db.session.add(
                User(email=f"bulk{number:02}@example.com", name=f"Bulk person {number:02}")
            )
        db.session.flush()
        for user in db.session.scalars(select(User).where(User.email.like("bulk%"))):
            user.roles = operations.roles_by_name({"learner"})
        db.session.commit()

    with count_queries() as many:
        first = text(admin.get("/admin/users"))
    assert len(many) == len(few)
    assert "Showing 1–50 of 65" in first
    assert "Page 1 of 2" in first
    assert 'href="/admin/users?page=2' in first

    second = text(admin.get("/admin/users", query_string={"page": 2}))
    assert "Showing 51–65 of 65" in second
    assert "Page 2 of 2" in second
    emails = re.findall(r"<td>([^<]+@example\.com)</td>", first)
    emails += re.findall(r"<td>([^<]+@example\.com)</td>", second)
    assert len(emails) == 65 == len(set(emails))

    # Paging keeps the filter.
    learners = text(admin.get("/admin/users", query_string={"role": "learner"}))
    assert "Showing 1–50 of 62" in learners
    assert "role=learner" in learners


# --- creating and editing users ---------------------------------------------------------------


def test_create_user_with_an_existing_address_is_refused(app, admin) -> None:
    before = count(app, User)
    response = submit(
        admin, "/admin/users/new", user_form("Learner@Example.com", "Copy Cat", ["learner"])
    )
    assert response.status_code == 200
    assert "learner@example.com already has an account." in text(response)
    assert count(app, User) == before
    assert count(app, OutboxMessage) == 0


def test_create_user_needs_a_role_and_a_valid_address(app, admin) -> None:
    response = submit(admin, "/admin/users/new", user_form("no-at-sign", "Nobody", []))
    assert response.status_code == 200
    page = text(response)
    assert "Choose at least one role." in page
    assert "Invalid email address." in page
    assert count(app, User) == 5


def test_create_user_saves_team_time_zone_and_roles(app, admin) -> None:
    with app.app_context():
        team = ensure_unit("team", "Growth", ensure_unit("region", "EMEA"))
        db.session.commit()
        team_id = team.id
    response = submit(
        admin,
        "/admin/users/new",
        user_form(
            "Mia.Manager@example.com",
            "Mia Manager",
            ["manager", "learner"],
            team_id=str(team_id),
            time_zone="Europe/Paris",
            external_id="CRM-7",
        ),
    )
    assert response.status_code == 302
    assert "Mia Manager can now be found under Users." in text(
        admin.get(response.headers["Location"])
    )
    with app.app_context():
        user = user_by_email("mia.manager@example.com")
        assert user.role_names == {"manager", "learner"}
        assert (user.team.name, user.time_zone, user.external_id) == (
            "Growth",
            "Europe/Paris",
            "CRM-7",
        )
        assert user.password_hash is None
    [created] = events(app, "user.created")
    assert created.details == {"roles": ["learner", "manager"], "via": "admin"}


def test_role_change_is_audited_with_before_after_and_reason(app, admin, users) -> None:
    learner = users["learner"]
    response = submit(
        admin,
        f"/admin/users/{learner}",
        user_form(
            "learner@example.com",
            "Learner",
            ["learner", "manager"],
            reason="Runs the spring cohort",
        ),
    )
    assert response.status_code == 302
    page = text(admin.get(f"/admin/users/{learner}"))
    assert "Saved." in page
    assert "user.roles_changed by Admin · “Runs the spring cohort”" in page

    [event] = events(app, "user.roles_changed")
    assert event.actor_id == users["admin"]
    assert (event.target_type, event.target_id) == ("user", str(learner))
    assert event.reason == "Runs the spring cohort"
    assert event.details == {"before": ["learner"], "after": ["learner", "manager"]}
    with app.app_context():
        assert db.session.get(User, learner).role_names == {"learner", "manager"}

    # Saving again without a change writes no second role event.
    submit(
        admin,
        f"/admin/users/{learner}",
        user_form("learner@example.com", "Learner", ["learner", "manager"]),
    )
    assert len(events(app, "user.roles_changed")) == 1


def test_a_new_role_takes_effect_on_the_users_next_request(app, client, admin, users) -> None:
    learner = app.test_client()
    login(learner, "learner@example.com")
    assert learner.get("/admin/users").status_code == 403
    submit(
        admin,
        f"/admin/users/{users['learner']}",
        user_form("learner@example.com", "Learner", ["learner", "admin"], reason="helps out"),
    )
    assert learner.get("/admin/users").status_code == 200


def test_editing_a_user_to_another_users_address_is_refused(app, admin, users) -> None:
    response = submit(
        admin,
        f"/admin/users/{users['learner']}",
        user_form("manager@example.com", "Learner", ["learner"]),
    )
    assert response.status_code == 200
    assert "manager@example.com already has an account." in text(response)
    with app.app_context():
        assert db.session.get(User, users["learner"]).email == "learner@example.com"


def test_admin_cannot_remove_their_own_admin_role(app, admin, users) -> None:
    me = users["admin"]
    response = submit(
        admin,
        f"/admin/users/{me}",
        user_form("admin@example.com", "Renamed Admin", ["learner"], reason="oops"),
    )
    assert response.status_code == 200
    assert "You cannot remove your own admin role." in text(response)
    with app.app_context():
        user = db.session.get(User, me)
        assert user.role_names == {"admin"}
        assert user.name == "Admin"
    assert events(app, "user.roles_changed") == []
    assert admin.get("/admin/users").status_code == 200


def test_admin_cannot_deactivate_themselves(app, admin, users) -> None:
    me = users["admin"]
    response = submit(
        admin,
        f"/admin/users/{me}",
        {"status-reason": "testing"},
        to=f"/admin/users/{me}/deactivate",
    )
    assert response.status_code == 302
    assert "You cannot deactivate your own account." in text(admin.get(f"/admin/users/{me}"))
    with app.app_context():
        assert db.session.get(User, me).active
    assert events(app, "user.deactivated") == []
    assert is_signed_in(admin)


def test_deactivation_needs_a_reason_is_audited_and_signs_the_user_out(app, admin, users) -> None:
    learner_id = users["learner"]
    page = f"/admin/users/{learner_id}"
    learner = app.test_client()
    login(learner, "learner@example.com")
    assert is_signed_in(learner)

    response = submit(admin, page, {"status-reason": ""}, to=f"{page}/deactivate")
    assert response.status_code == 302
    assert "Give a reason to deactivate an account." in text(admin.get(page))
    with app.app_context():
        assert db.session.get(User, learner_id).active
    assert is_signed_in(learner)

    submit(admin, page, {"status-reason": "Left the company"}, to=f"{page}/deactivate")
    shown = text(admin.get(page))
    assert "Learner is deactivated and signed out everywhere." in shown
    assert "This account is deactivated." in shown
    with app.app_context():
        assert not db.session.get(User, learner_id).active
    [event] = events(app, "user.deactivated")
    assert (event.reason, event.actor_id, event.target_id) == (
        "Left the company",
        users["admin"],
        str(learner_id),
    )

    response = learner.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "This account is deactivated." in text(login(learner, "learner@example.com"))
    assert "deactivated" in text(admin.get("/admin/users", query_string={"q": "learner@"}))


def test_reactivation_lets_the_user_sign_in_again(app, admin, users) -> None:
    learner_id = users["learner"]
    page = f"/admin/users/{learner_id}"
    submit(admin, page, {"status-reason": "On leave"}, to=f"{page}/deactivate")
    response = submit(admin, page, {"status-reason": ""}, to=f"{page}/reactivate")
    assert "Give a reason to reactivate an account." in text(admin.get(page))
    response = submit(admin, page, {"status-reason": "Back from leave"}, to=f"{page}/reactivate")
    assert response.status_code == 302
    assert "Learner is active again." in text(admin.get(page))
    [event] = events(app, "user.reactivated")
    assert event.reason == "Back from leave"
    assert login(app.test_client(), "learner@example.com").status_code == 302


def test_sending_the_invitation_again_replaces_the_old_link(app, admin) -> None:
    with app.app_context():
        user = make_user("late@example.com", password=None)
        operations.send_invitation(user)
        db.session.commit()
        user_id = user.id
    page = f"/admin/users/{user_id}"
    assert "Send the invitation again" in text(admin.get(page))
    response = submit(admin, page, {}, to=f"{page}/invite")
    assert response.status_code == 302
    assert "A new invitation is on its way to late@example.com." in text(admin.get(page))
    with app.app_context():
        bodies = list(
            db.session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.to_address == "late@example.com")
                .order_by(OutboxMessage.id)
            )
        )
    assert len(bodies) == 2
    old, new = (re.search(r"http://localhost(/invitation/\S+)", body).group(1) for body in bodies)
    anonymous = app.test_client()
    assert anonymous.get(old).status_code == 400
    assert anonymous.get(new).status_code == 200
    assert len(events(app, "user.link_sent")) == 1


# --- importing users --------------------------------------------------------------------------

PEOPLE = (
    "email,name,roles,team,time_zone,external_id\n"
    "ada@example.com,Ada Lovelace,learner,Growth,Europe/London,CRM-1\n"  # 2: good
    "not-an-email,Bad Address,learner,,,\n"  # 3
    "bob@example.com,Bob,wizard,,,\n"  # 4
    "carol@example.com,Carol,learner,Atlantis,,\n"  # 5
    "dan@example.com,Dan,learner,,Mars/Olympus,\n"  # 6
    "ADA@example.com,Ada Again,learner,,,\n"  # 7
    "erin@example.com,Erin,learner,,,,surplus\n"  # 8
    "frank@example.com,Frank Manager,manager;learner,,,\n"  # 9: good
)
PEOPLE_PROBLEMS = [
    (3, "email 'not-an-email' is not valid"),
    (4, "roles: wizard is not a role"),
    (5, "team 'Atlantis' does not exist"),
    (6, "time_zone 'Mars/Olympus' is not an IANA time zone"),
    (7, "ada@example.com appears again (first on line 2)"),
    (8, "has more cells than the header has columns"),
]


@pytest.fixture
def growth_team(app: Flask) -> int:
    with app.app_context():
        team = ensure_unit("team", "Growth")
        db.session.commit()
        return team.id


def upload(client: FlaskClient, content: bytes, filename: str = "people.csv", invite: bool = True):
    data = {"file": (io.BytesIO(content), filename)}
    if invite:
        data["send_invitations"] = "y"
    return submit(client, "/admin/users/import", data, content_type="multipart/form-data")


def _imported_users(app: Flask) -> dict[str, User]:
    with app.app_context():
        found = {
            user.email: user
            for user in db.session.scalars(select(User).where(User.email.not_like("%@example.com")))
        }
        found.update(
            {
                email: user_by_email(email)
                for email in ("ada@example.com", "frank@example.com")
                if user_by_email(email)
            }
        )
        for user in found.values():
            _ = user.team, user.role_names
        db.session.expunge_all()
        return found


def test_csv_import_reports_bad_rows_by_line_and_keeps_good_rows(app, admin, growth_team) -> None:
    response = upload(admin, PEOPLE.encode())
    assert response.status_code == 200
    page = text(response)
    assert "Import finished: 2 created, 0 updated, 0 unchanged, 6 rows refused." in page
    for line, reason in PEOPLE_PROBLEMS:
        assert f'<td class="num">{line}</td><td>{reason}' in page, (line, reason)

    with app.app_context():
        emails = set(db.session.scalars(select(User.email)))
        ada = user_by_email("ada@example.com")
        assert (ada.name, ada.team_id, ada.time_zone, ada.external_id) == (
            "Ada Lovelace",
            growth_team,
            "Europe/London",
            "CRM-1",
        )
        assert ada.role_names == {"learner"}
        assert user_by_email("frank@example.com").role_names == {"learner", "manager"}
        invited = set(db.session.scalars(select(OutboxMessage.to_address)))
    for refused in ("bob@example.com", "carol@example.com", "dan@example.com", "erin@example.com"):
        assert refused not in emails
    assert invited == {"ada@example.com", "frank@example.com"}

    [event] = events(app, "users.imported")
    assert event.actor_id is not None
    assert event.details["source"] == "people.csv"
    assert (event.details["created"], event.details["updated"]) == (2, 0)
    assert len(event.details["refused"]) == 6


def test_reimporting_the_same_file_changes_nothing(app, admin, growth_team) -> None:
    upload(admin, PEOPLE.encode())
    users_before, mail_before = count(app, User), count(app, OutboxMessage)

    response = upload(admin, PEOPLE.encode())
    assert "Import finished: 0 created, 0 updated, 2 unchanged, 6 rows refused." in text(response)
    assert count(app, User) == users_before
    assert count(app, OutboxMessage) == mail_before
    assert events(app, "user.roles_changed") == []
    assert [e.details["created"] for e in events(app, "users.imported")] == [2, 0]


def test_reimport_updates_changed_people_and_audits_role_changes(app, admin, growth_team) -> None:
    upload(admin, PEOPLE.encode())
    changed = "email,name,roles\nada@example.com,Ada King,learner;leader\n"
    response = upload(admin, changed.encode())
    assert "Import finished: 0 created, 1 updated, 0 unchanged, 0 rows refused." in text(response)
    with app.app_context():
        ada = user_by_email("ada@example.com")
        # Columns the file leaves out are kept as they were.
        assert (ada.name, ada.team_id, ada.time_zone) == ("Ada King", growth_team, "Europe/London")
        assert ada.role_names == {"learner", "leader"}
    [event] = events(app, "user.roles_changed")
    assert event.reason == "user import"
    assert event.details == {"before": ["learner"], "after": ["leader", "learner"]}


def test_csv_import_without_invitations_queues_no_mail(app, admin) -> None:
    response = upload(admin, b"email,name\nzoe@example.com,Zoe\n", invite=False)
    assert "1 created" in text(response)
    assert count(app, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"email,full name\nzoe@example.com,Zoe\n", "line 1: the header lacks the column(s) name"),
        (b"email,name,shoe size\nzoe@example.com,Zoe,42\n", "line 1: unknown column(s) shoe size"),
        (b"", "line 1: the header lacks the column(s) email, name"),
    ],
    ids=["missing column", "unknown column", "empty file"],
)
def test_csv_import_refuses_a_bad_header_with_line_1(app, admin, content, message) -> None:
    response = upload(admin, content)
    assert response.status_code == 200
    page = text(response)
    assert f'<td class="num">1</td><td>{message.removeprefix("line 1: ")}' in page
    assert "0 created" in page
    with app.app_context():
        assert user_by_email("zoe@example.com") is None


def test_csv_import_explains_a_file_that_is_not_utf8(app, admin) -> None:
    response = upload(admin, "email,name\nzoe@example.com,Zoë\n".encode("latin-1"))
    assert response.status_code == 200
    page = text(response)
    assert "the file is not UTF-8 text (byte 29); save it as CSV UTF-8" in page
    assert "Import finished" not in page
    assert count(app, User) == 5
    assert events(app, "users.imported") == []


def test_csv_import_accepts_a_utf8_file_with_a_byte_order_mark(app, admin) -> None:
    response = upload(admin, "email,name\nzoe@example.com,Zoë\n".encode("utf-8-sig"))
    assert "1 created" in text(response)
    with app.app_context():
        assert user_by_email("zoe@example.com").name == "Zoë"


def test_csv_import_refuses_other_file_types(app, admin) -> None:
    response = upload(admin, b"email,name\nzoe@example.com,Zoe\n", filename="people.xlsx")
    assert "Upload a .csv file." in text(response)
    assert count(app, User) == 5


def test_invited_person_from_an_import_can_accept(app, admin) -> None:
    upload(admin, b"email,name\nzoe@example.com,Zoe Zimmer\n")
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body))
    link = re.search(r"http://localhost(/invitation/\S+)", body).group(1)
    newcomer = app.test_client()
    response = submit(
        newcomer, link, {"password": "zoe's long passphrase", "confirm": "zoe's long passphrase"}
    )
    assert response.status_code == 302
    assert "Welcome, Zoe" in text(newcomer.get("/"))


# --- importing on the command line ------------------------------------------------------------


def _cli_import(app: Flask, path: Path, *options: str):
    # An app context, as the `flask` command gives every command; no request context.
    with app.app_context():
        return app.test_cli_runner().invoke(args=["users", "import", str(path), *options])


def test_cli_import_reports_bad_rows_keeps_good_ones_and_is_idempotent(
    app, users, growth_team, tmp_path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE, encoding="utf-8")

    result = _cli_import(app, path)
    assert result.exit_code == 2, result.output  # some rows refused, some kept
    assert "2 created, 0 updated, 0 unchanged, 6 rows refused" in result.stdout
    for line, reason in PEOPLE_PROBLEMS:
        assert f"{path}: line {line}: {reason}" in result.stderr
    with app.app_context():
        assert user_by_email("ada@example.com").team_id == growth_team
        invitations = list(db.session.scalars(select(OutboxMessage)))
    # Links in e-mails sent from the command line point at the site, like the web's.
    assert len(invitations) == 2
    for message in invitations:
        assert re.search(r"http://localhost/invitation/\S+", message.body), message.body
    link = re.search(r"http://localhost(/invitation/\S+)", invitations[0].body).group(1)
    assert app.test_client().get(link).status_code == 200

    users_before = count(app, User)
    again = _cli_import(app, path)
    assert "0 created, 0 updated, 2 unchanged, 6 rows refused" in again.stdout
    assert count(app, User) == users_before
    assert count(app, OutboxMessage) == 2
    [first, second] = events(app, "users.imported")
    assert first.actor_id is None and first.details["source"] == str(path)
    assert second.details["created"] == 0


def test_cli_import_without_invitations(app, users, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,name\nzoe@example.com,Zoe\n", encoding="utf-8")
    result = _cli_import(app, path, "--no-invite")
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 unchanged, 0 rows refused" in result.stdout
    assert count(app, OutboxMessage) == 0


def test_cli_import_refuses_a_file_that_is_not_utf8(app, users, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("email,name\nzoe@example.com,Zoë\n".encode("latin-1"))
    result = _cli_import(app, path)
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output
    assert count(app, User) == 5


def test_cli_import_refuses_a_missing_header_column(app, users, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("mail,name\nzoe@example.com,Zoe\n", encoding="utf-8")
    result = _cli_import(app, path)
    assert result.exit_code == 1
    assert f"{path}: line 1: the header lacks the column(s) email" in result.stderr
    assert count(app, User) == 5


# --- personal data ----------------------------------------------------------------------------

#: Tables that hold personal data but are not mapped models, and where their data is handled.
#: Each entry is a decision, not an oversight: see the test below.
HANDLED_THROUGH_ANOTHER_TABLE = {
    # A user's roles: exported with the user row ("roles"); on erasure they stay, attached to
    # the anonymised user, so counts by role remain true.
    "user_roles": "users",
}


def _tables_holding_personal_data() -> dict[str, list[str]]:
    found = {}
    for table in db.metadata.sorted_tables:
        reasons = [f"{c.name} is personal" for c in table.columns if c.info.get("personal")]
        reasons += [
            f"{c.name} refers to users"
            for c in table.columns
            if any(fk.target_fullname == "users.id" for fk in c.foreign_keys)
        ]
        if reasons:
            found[table.name] = reasons
    return found


def test_every_table_holding_personal_data_registers_export_and_erasure(app) -> None:
    mapped = {mapper.local_table.name: mapper.class_ for mapper in db.Model.registry.mappers}
    personal = _tables_holding_personal_data()
    assert {"users", "auth_tokens", "outbox_messages", "audit_events", "enrolments"} <= set(
        personal
    )

    missing = {
        name: reasons
        for name, reasons in personal.items()
        if name not in REGISTRY and name not in HANDLED_THROUGH_ANOTHER_TABLE
    }
    assert missing == {}, "register these in lms/privacy/handlers.py"

    for name in personal:
        if name in REGISTRY:
            assert REGISTRY[name].model is mapped[name], name
            assert REGISTRY[name].policy.strip(), name
    # The exceptions stay few and honest: unmapped tables whose data another handler covers.
    for name, handled_by in HANDLED_THROUGH_ANOTHER_TABLE.items():
        assert name in personal and name not in mapped, name
        assert handled_by in REGISTRY
    # Nothing registered that does not exist.
    assert set(REGISTRY) <= set(mapped)


def test_privacy_page_lists_what_erasure_does(admin) -> None:
    page = text(admin.get("/admin/privacy"))
    for name, handler in REGISTRY.items():
        assert f"<code>{name}</code>" in page
        assert handler.policy in page


@pytest.fixture
def learner_with_records(app: Flask, users) -> int:
    """The learner with an enrolment, a pending reset link and e-mail, including one sent to
    their address without a user id."""
    with app.app_context():
        # An enrolment starts in the first adoption stage, so the stage must exist.
        db.session.add(
            Stage(
                id="initial",
                position=1,
                name="Initial Adoption",
                window_start_day=0,
                window_end_day=30,
                focus="basics",
            )
        )
        programme = Programme(
            slug="demo-programme",
            kind="curriculum",
            title="Demo programme",
            summary="",
            source="test",
            version="1.0.0",
            content_hash="0" * 64,
        )
        cohort = Cohort(
            name="Spring cohort", start_date=date(2026, 3, 2), manager_id=users["manager"]
        )
        db.session.add_all([programme, cohort])
        db.session.flush()
        db.session.add(
            Enrolment(
                user_id=users["learner"],
                programme_id=programme.id,
                cohort_id=cohort.id,
                start_date=date(2026, 3, 2),
            )
        )
        learner = db.session.get(User, users["learner"])
        learner.external_id = "CRM-99"
        operations.send_password_reset(learner)
        queue("learner@example.com", "Your cohort starts Monday", "Hello Learner, ...")
        db.session.commit()
    return users["learner"]


def test_admin_export_downloads_the_users_data_as_json_and_is_audited(
    app, admin, users, learner_with_records
) -> None:
    response = admin.get(f"/admin/users/{learner_with_records}/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="user-{learner_with_records}-data.json"'
    )
    data = json.loads(response.get_data(as_text=True))
    assert data["user_id"] == learner_with_records
    [person] = data["users"]["records"]
    assert (person["email"], person["name"], person["roles"], person["external_id"]) == (
        "learner@example.com",
        "Learner",
        ["learner"],
        "CRM-99",
    )
    assert [t["purpose"] for t in data["auth_tokens"]["records"]] == ["password-reset"]
    assert [m["subject"] for m in data["outbox_messages"]["records"]] == ["Reset your password"]
    [enrolment] = data["enrolments"]["records"]
    assert (enrolment["programme"], enrolment["cohort"]) == ("Demo programme", "Spring cohort")
    for name in REGISTRY:
        assert data[name]["policy"] == REGISTRY[name].policy
    # Secrets are not personal data to hand out.
    with app.app_context():
        password_hash = db.session.get(User, learner_with_records).password_hash
    assert password_hash not in response.get_data(as_text=True)
    assert "secret_hash" not in response.get_data(as_text=True)

    [event] = events(app, "user.data_exported")
    assert (event.actor_id, event.target_id) == (users["admin"], str(learner_with_records))


def test_erasure_needs_the_exact_address_and_a_reason(app, admin, learner_with_records) -> None:
    page = f"/admin/users/{learner_with_records}"
    for typed, reason in (
        ("someone.else@example.com", "Asked to be forgotten"),
        ("learner@example.co", "Asked to be forgotten"),
        ("learner@example.com", ""),
    ):
        response = submit(
            admin,
            page,
            {"erase-confirm_email": typed, "erase-reason": reason},
            to=f"{page}/erase",
        )
        assert response.status_code == 302
        assert "To erase, type the user's e-mail address exactly and give a reason." in text(
            admin.get(page)
        )
    with app.app_context():
        user = db.session.get(User, learner_with_records)
        assert (user.email, user.erased_at) == ("learner@example.com", None)
    assert events(app, "user.erased") == []


def test_erasure_anonymises_the_user_deletes_links_and_mail_and_keeps_enrolments(
    app, admin, users, learner_with_records
) -> None:
    learner_id = learner_with_records
    learner = app.test_client()
    login(learner, "learner@example.com")
    page = f"/admin/users/{learner_id}"

    response = submit(
        admin,
        page,
        {"erase-confirm_email": "learner@example.com", "erase-reason": "Asked to be forgotten"},
        to=f"{page}/erase",
    )
    assert response.status_code == 302
    shown = text(admin.get(page))
    assert "Personal data erased; learning records stay, anonymised." in shown
    assert "This account is deactivated and its personal data was erased." in shown
    assert "learner@example.com" not in shown

    with app.app_context():
        user = db.session.get(User, learner_id)
        assert user.email == f"erased-user-{learner_id}@erased.invalid"
        assert user.name == f"Erased user {learner_id}"
        assert (user.password_hash, user.external_id, user.active) == (None, None, False)
        assert user.erased_at is not None
        assert db.session.scalar(select(func.count()).select_from(AuthToken)) == 0
        assert db.session.scalars(select(OutboxMessage.to_address)).all() == []
        [enrolment] = db.session.scalars(select(Enrolment)).all()
        assert enrolment.user_id == learner_id
        # Other people's records are untouched.
        assert user_by_email("other.learner@example.com") is not None

    [event] = events(app, "user.erased")
    assert (event.reason, event.actor_id) == ("Asked to be forgotten", users["admin"])
    assert "<td>learner@example.com</td>" not in text(admin.get("/admin/users"))

    # Signed out, and can no longer sign in or ask for a reset.
    assert not is_signed_in(learner)
    assert NO_MATCH in text(login(learner, "learner@example.com"))
    submit(learner, "/password/forgot", {"email": "learner@example.com"})
    assert count(app, OutboxMessage) == 0


def test_admin_cannot_erase_themselves(app, admin, users) -> None:
    me = users["admin"]
    submit(
        admin,
        f"/admin/users/{me}",
        {"erase-confirm_email": "admin@example.com", "erase-reason": "tidy up"},
        to=f"/admin/users/{me}/erase",
    )
    assert "You cannot erase your own account." in text(admin.get(f"/admin/users/{me}"))
    with app.app_context():
        assert db.session.get(User, me).erased_at is None


# --- teams and the organisation ---------------------------------------------------------------


def test_teams_page_adds_a_region_and_a_team_in_it(app, admin) -> None:
    response = submit(admin, "/admin/teams", {"kind": "region", "name": "EMEA", "region_id": ""})
    assert response.status_code == 302
    page = text(admin.get("/admin/teams"))
    assert "Region EMEA added." in page
    region_id = re.search(r'<option value="(\d+)">EMEA</option>', page).group(1)

    response = submit(
        admin,
        "/admin/teams",
        {"kind": "team", "name": "Growth Marketing", "region_id": region_id},
    )
    assert response.status_code == 302
    page = text(admin.get("/admin/teams"))
    assert "Team Growth Marketing added." in page
    assert re.search(r"<h3>EMEA</h3>\s*<ul><li>Growth Marketing</li></ul>", page)

    with app.app_context():
        team = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "Growth Marketing"))
        assert (team.kind, team.parent.name) == ("team", "EMEA")
    assert [e.details["name"] for e in events(app, "org_unit.created")] == [
        "EMEA",
        "Growth Marketing",
    ]
    # The team is offered when creating a user.
    assert "Growth Marketing (EMEA)" in text(admin.get("/admin/users/new"))

    response = submit(
        admin, "/admin/teams", {"kind": "team", "name": "Growth Marketing", "region_id": ""}
    )
    assert response.status_code == 200
    assert "A team named Growth Marketing exists already." in text(response)
    assert count(app, OrgUnit) == 2


def _organisation_form(**changes) -> dict:
    data = {
        "name": "Acme Marketing",
        "time_zone": "Europe/Berlin",
        "working_weekdays": ["1", "2", "3", "4"],
        "holidays": "2026-12-25 Christmas Day\n2026-12-26 Boxing Day\n",
    }
    data.update(changes)
    return data


def test_organisation_page_saves_time_zone_working_days_and_holidays(app, admin) -> None:
    response = submit(admin, "/admin/organisation", _organisation_form())
    assert response.status_code == 302
    page = text(admin.get("/admin/organisation"))
    assert "Organisation settings saved." in page
    assert "2026-12-25 Christmas Day\n2026-12-26 Boxing Day" in page
    assert "Acme Marketing learning" in page  # the title carries the organisation's name
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        assert (org.name, org.time_zone, org.working_weekdays) == (
            "Acme Marketing",
            "Europe/Berlin",
            "1,2,3,4",
        )
        assert [(h.day, h.name) for h in org.holidays] == [
            (date(2026, 12, 25), "Christmas Day"),
            (date(2026, 12, 26), "Boxing Day"),
        ]
    [event] = events(app, "organisation.updated")
    assert event.details["after"] == {"time_zone": "Europe/Berlin", "working_weekdays": "1,2,3,4"}


def test_organisation_page_saves_again_with_the_same_holidays(app, admin) -> None:
    submit(admin, "/admin/organisation", _organisation_form())
    # The form comes back with the holidays filled in; saving a new time zone keeps them.
    response = submit(
        admin,
        "/admin/organisation",
        _organisation_form(
            time_zone="Europe/Paris",
            holidays="2026-12-25 Christmas\n2027-01-01 New Year's Day",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        assert org.time_zone == "Europe/Paris"
        assert [(h.day, h.name) for h in org.holidays] == [
            (date(2026, 12, 25), "Christmas"),
            (date(2027, 1, 1), "New Year's Day"),
        ]


def test_organisation_page_refuses_a_bad_holiday_line_with_its_number(app, admin) -> None:
    response = submit(
        admin,
        "/admin/organisation",
        _organisation_form(holidays="2026-12-25 Christmas Day\n\n26/12/2026 Boxing Day\n"),
    )
    assert response.status_code == 200
    assert "Line 3: '26/12/2026' is not a date such as 2026-12-25." in text(response)
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        assert org is None or (org.time_zone, org.holidays) == ("UTC", [])
    assert events(app, "organisation.updated") == []


def test_organisation_page_needs_a_working_day_and_a_known_time_zone(app, admin) -> None:
    response = submit(
        admin,
        "/admin/organisation",
        _organisation_form(working_weekdays=[], time_zone="Mars/Olympus"),
    )
    assert response.status_code == 200
    page = text(response)
    assert "Choose at least one working day." in page
    assert "Not a valid choice" in page
    assert events(app, "organisation.updated") == []


def test_audit_log_lists_and_filters_events(app, admin, users) -> None:
    submit(
        admin,
        f"/admin/users/{users['learner']}",
        user_form("learner@example.com", "Learner", ["learner", "leader"], reason="promotion"),
    )
    page = text(admin.get("/admin/audit", query_string={"action": "user.roles"}))
    assert "<code>user.roles_changed</code>" in page
    assert "promotion" in page
    assert "<code>user.updated</code>" not in page
    assert "<code>user.updated</code>" in text(admin.get("/admin/audit"))
