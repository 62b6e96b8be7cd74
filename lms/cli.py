"""Command-line tools, grouped by domain: `flask --app lms curricula load`, `... demo seed`.

Groups are Flask `AppGroup`s, so every command runs inside the application context however it
is invoked (the `flask` command, the `lms` script, or `app.test_cli_runner()` in tests).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from lms.extensions import db


def _curricula_path(path: str | None) -> Path:
    return Path(path or current_app.config["LMS_CURRICULA_PATH"])


curricula_cli = AppGroup("curricula", help="Validate and load the curriculum files.")


@curricula_cli.command("validate")
@click.argument("path", required=False)
def validate_command(path: str | None) -> None:
    """Check every curriculum file under PATH (default: curricula/) without loading."""
    from lms.curricula.loader import validate_curricula

    parsed, problems = validate_curricula(_curricula_path(path))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(parsed)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(parsed)} file(s) valid.")


@curricula_cli.command("lint")
@click.argument("path", required=False)
def lint_command(path: str | None) -> None:
    """Check the teaching content under PATH: coverage, keys, formulas, figures, repeats."""
    from lms.curricula.lint import lint, table
    from lms.curricula.loader import validate_curricula

    parsed, problems = validate_curricula(_curricula_path(path))
    if not problems:
        report = lint(parsed)
        problems = report.problems
        click.echo(table(report.summaries))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s).", err=True)
        sys.exit(1)
    click.echo("The content passes the linter.")


@curricula_cli.command("load")
@click.argument("path", required=False)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what a load would change (modules, sections, questions) and write nothing.",
)
def load_command(path: str | None, dry_run: bool) -> None:
    """Load every curriculum file under PATH in one transaction (all or nothing)."""
    from lms.curricula.loader import load_curricula

    report = load_curricula(_curricula_path(path))
    if not report.ok:
        db.session.rollback()
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo("Nothing was loaded.", err=True)
        sys.exit(1)
    if dry_run:
        # The load ran inside the transaction to find its changes; none of it is kept.
        db.session.rollback()
        for change in report.changes:
            click.echo(f"  {change}")
    else:
        db.session.commit()
    for label, items in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        for item in items:
            click.echo(f"{label:>9}  {item}")
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged."
        + (" Dry run: nothing was written." if dry_run else "")
    )


users_cli = AppGroup("users", help="Import and manage users.")


@users_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--invite/--no-invite", default=True, help="E-mail invitations to new users.")
def import_command(file: str, invite: bool) -> None:
    """Create or update users from a CSV FILE (bad rows are reported, good rows kept)."""
    from lms.accounts.importing import decode_upload, import_users
    from lms.mail.outbox import deliver_pending

    try:
        text = decode_upload(Path(file).read_bytes())
    except ValueError as error:
        raise click.ClickException(f"{file}: {error}") from error
    report = import_users(text, invite=invite, source=file)
    db.session.commit()
    deliver_pending()
    for problem in report.problems:
        click.echo(f"{file}: {problem}", err=True)
    click.echo(report.summary())
    if report.problems:
        sys.exit(2 if (report.created or report.updated or report.unchanged) else 1)


@users_cli.command("export")
@click.argument("email")
def export_command(email: str) -> None:
    """Print everything the system holds about the user with EMAIL, as JSON."""
    from lms.accounts.operations import find_user_by_email
    from lms.audit.operations import record
    from lms.privacy import export_user_data

    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    click.echo(json.dumps(export_user_data(user), indent=2, default=str))
    record("user.data_exported", target=user, via="cli")
    db.session.commit()


demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@click.option(
    "--size",
    type=click.Choice(["demo", "S", "M", "L"]),
    default="demo",
    show_default=True,
    help="demo: about 40 learners; S, M, L: 100, 1,000, 10,000.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if users exist.")
def seed_command(size: str, if_empty: bool) -> None:
    """Create the demo organisation in a new database."""
    from lms.demo.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, SeedError, database_is_empty, seed

    if if_empty and not database_is_empty():
        click.echo("The database already has users: demo data left as it is.")
        return
    try:
        report = seed(size)
    except SeedError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(
        f"Demo organisation: {report.learners} learners in {report.teams} teams across "
        f"{report.regions} regions, {report.cohorts} cohorts, {report.enrolments} enrolments."
    )
    click.echo(f"Sign in as any of {', '.join(DEMO_ACCOUNTS)} with the password {DEMO_PASSWORD}.")


mail_cli = AppGroup("mail", help="The e-mail outbox.")


@mail_cli.command("send")
def send_command() -> None:
    """Deliver queued e-mail through the configured sender."""
    from lms.mail.outbox import deliver_pending

    click.echo(f"{deliver_pending()} message(s) sent.")


def register_commands(app: Flask) -> None:
    for group in (
        curricula_cli,
        users_cli,
        demo_cli,
        mail_cli,
        stages_cli,
        usage_cli,
        metrics_cli,
        records_cli,
        reports_cli,
    ):
        app.cli.add_command(group)


def main() -> None:
    """The `lms` console script: the same commands as `flask --app lms`."""
    from lms import create_app

    FlaskGroup(create_app=create_app)()


stages_cli = AppGroup("stages", help="The adoption-stage engine.")


@stages_cli.command("refresh")
def refresh_command() -> None:
    """Promote every enrolment whose gate is met and recompute every status (nightly)."""
    from lms.stages.engine import refresh_all

    enrolments, promoted = refresh_all()
    click.echo(f"{enrolments} active enrolment(s) refreshed, {promoted} promotion(s).")


usage_cli = AppGroup("usage", help="Platform usage data.")


@usage_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def usage_import_command(file: str) -> None:
    """Record feature usage from a CSV FILE: user (or email, external_id), platform, feature,
    timestamp, count, event_id. Bad rows are reported by line; good rows are kept; importing
    the same file again records nothing twice."""
    from lms.adoption.usage import ingest, read_csv
    from lms.audit.operations import record

    try:
        text = Path(file).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not UTF-8 text (byte {error.start})") from error
    rows, problems = read_csv(text)
    report = ingest(rows, source="csv", source_ref=Path(file).name)
    report.problems[:0] = problems
    record(
        "usage.imported",
        target_type="usage",
        source=file,
        rows=report.rows,
        recorded=report.accepted,
        held=report.held,
        refused=len(report.problems),
    )
    db.session.commit()
    for problem in report.problems:
        click.echo(f"{file}: line {problem}", err=True)
    click.echo(report.summary() + ".")
    if report.problems:
        sys.exit(2 if report.accepted or report.duplicates or report.held else 1)


metrics_cli = AppGroup("metrics", help="The adoption metrics.")


@metrics_cli.command("snapshot")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to compute for (YYYY-MM-DD; default: today in the organisation).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Store this many days ending on the as-of day (a backfill for the trend charts).",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --days, store one day in this many (7: weekly), always the as-of day.",
)
@click.option("--if-missing", is_flag=True, help="Leave days that already have snapshots.")
def metrics_snapshot_command(as_of, days: int, every: int, if_missing: bool) -> None:
    """Store every metric for the organisation, each team, region and cohort (nightly).
    Running it again for the same day replaces that day's snapshots."""
    from datetime import timedelta

    from lms.metrics.definitions import METRICS
    from lms.metrics.snapshots import snapshot_days, store_snapshots
    from lms.stages.engine import organisation_today

    last = as_of.date() if as_of else organisation_today()
    wanted = [last - timedelta(days=n) for n in range(0, days, every)][::-1]
    if if_missing:
        stored = snapshot_days(wanted[0], last)
        skipped = [day for day in wanted if day in stored]
        wanted = [day for day in wanted if day not in stored]
        if skipped:
            click.echo(f"{len(skipped)} day(s) already have snapshots: left as they are.")
    for day in wanted:
        report = store_snapshots(day)
        db.session.commit()
        if day == last:
            for metric_id, result in report.organisation.items():
                value = "—" if result.value is None else f"{result.value:.1%}"
                line = f"{METRICS[metric_id].name:<34} {value:>8}  {result.status}"
                click.echo(line + (f" ({result.reason})" if result.reason else ""))
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))
        click.echo(
            f"{report.stored} snapshot(s) stored for {day.isoformat()}: {report.scopes} scope(s) "
            f"× {len(METRICS)} metric(s) ({counts})"
            + (
                f"; {report.replaced} earlier row(s) for that day replaced."
                if report.replaced
                else "."
            )
        )


reports_cli = AppGroup("reports", help="Reports for leadership.")


@reports_cli.command("build")
@click.option(
    "--to",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write into (made if missing).",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The report's date (YYYY-MM-DD; default: today in the organisation).",
)
def reports_build_command(folder: Path, as_of) -> None:
    """Write the leadership adoption-success report into FOLDER as a PDF board paper and as a
    self-contained HTML file, named by the report's date (for scheduled runs)."""
    from lms.reports.paper import write_files

    for path in write_files(folder, as_of.date() if as_of else None):
        click.echo(f"{path} ({path.stat().st_size:,} bytes)")


records_cli = AppGroup("records", help="The records behind the business metrics.")
RECORD_KINDS = ("campaigns", "process-changes", "checkpoints")


@records_cli.command("import")
@click.argument("kind", type=click.Choice(RECORD_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def records_import_command(kind: str, file: str) -> None:
    """Import a CSV FILE of KIND for any team, as the system: the same columns and checks as
    the import pages and the API. Bad rows are reported by line; good rows are kept; importing
    the same file again records nothing twice. Exit code 2 if some rows were refused, 1 if
    all were."""
    from lms.accounts.importing import decode_upload
    from lms.adoption.records_ops import import_csv

    try:
        text = decode_upload(Path(file).read_bytes())
    except ValueError as error:
        raise click.ClickException(f"{file}: {error}") from error
    report = import_csv(kind, text, editable=None, actor=None, source=Path(file).name)
    db.session.commit()
    for problem in report.problems:
        click.echo(f"{file}: line {problem}", err=True)
    click.echo(f"{Path(file).name}: {report.summary()}.")
    if report.problems:
        sys.exit(2 if report.kept else 1)
