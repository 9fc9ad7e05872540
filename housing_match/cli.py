"""The ``housing-match`` command line: set-up, organisations and keys, demo data, serving."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from housing_match.auth import CLI_ACTOR
from housing_match.errors import ProblemError
from housing_match.models import OrganisationKind, UserRole

if TYPE_CHECKING:
    from housing_match.jobs import JobReport
    from housing_match.registry.bulk_service import ImportReport

app = typer.Typer(
    help="housing-match: safety-net housing (セーフティネット住宅) for people leaving prison.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database set-up and migrations.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(
    help="Staff accounts: invitations, listing, deactivation.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
vacancies_app = typer.Typer(help="Vacancy housekeeping.", no_args_is_help=True)
referrals_app = typer.Typer(help="Referral housekeeping: holds and stalls.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook delivery.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
export_app = typer.Typer(help="Bulk exports.", no_args_is_help=True)
rent_balance_app = typer.Typer(
    help="The rent-balance audit's (近傍同種) maintained medians.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
app.add_typer(user_app, name="user")
app.add_typer(demo_app, name="demo")
app.add_typer(vacancies_app, name="vacancies")
app.add_typer(referrals_app, name="referrals")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(rent_balance_app, name="rent-balance")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _output_file(path: Path | None) -> Path | None:
    """An output option checked before any work is done: a bench of minutes, or an import that
    has already landed, must not end in a traceback because its file cannot be written."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise typer.BadParameter(f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise typer.BadParameter(f"{path} cannot be written")
    return path


@contextmanager
def _stopped_cleanly_on_sigterm() -> Iterator[None]:
    """A SIGTERM (a cancelled CI job, ``timeout``) unwinds like Ctrl-C does, so the servers a
    measurement started are stopped by its ``finally`` blocks instead of left running."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def cli_session() -> Iterator[Session]:
    """One transaction per command, like one per request: all of it lands or none of it."""
    from housing_match.db import get_sessionmaker

    with get_sessionmaker()() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


@db_app.command("setup")
def db_setup(
    test: Annotated[bool, typer.Option("--test", help="Also create the test database.")] = False,
) -> None:
    """Create the app database (and the test one) with PostGIS when missing."""
    from housing_match.dbadmin import ensure_database
    from housing_match.settings import get_settings

    urls = [get_settings().database_url]
    if test:
        from housing_match.testing import database_url_for_tests

        urls.append(database_url_for_tests())
    for url in urls:
        created = ensure_database(url)
        name = url.rsplit("/", 1)[-1]
        typer.echo(f"database {name}: {'created' if created else 'ready'}", err=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply every migration (alembic upgrade head)."""
    from housing_match.dbadmin import migrate
    from housing_match.settings import get_settings

    migrate(get_settings().database_url)


@org_app.command("create")
def org_create(
    kind: Annotated[OrganisationKind, typer.Option(help="Organisation kind.")],
    slug: Annotated[str, typer.Option(help="Short identifier, e.g. osaka-teichaku.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 大阪府地域生活定着支援センター.")],
    jurisdiction: Annotated[
        list[str] | None,
        typer.Option(help="Municipalities: a prefecture or municipality code; repeat for more."),
    ] = None,
    totp: Annotated[
        bool,
        typer.Option(
            "--totp-required/--totp-optional",
            help="Whether its users need a TOTP code (always for centers and admins).",
        ),
    ] = True,
) -> None:
    """Create an organisation; prints its id and slug."""
    from housing_match.organisations.schemas import OrganisationCreate
    from housing_match.organisations.service import create_organisation

    try:
        data = OrganisationCreate(
            kind=kind,
            slug=slug,
            name=name,
            jurisdiction_codes=jurisdiction or [],
            totp_required=totp,
        )
    except ValidationError as exc:
        raise _fail("; ".join(error["msg"] for error in exc.errors())) from None
    try:
        with cli_session() as session:
            organisation = create_organisation(session, CLI_ACTOR, data)
            typer.echo(f"{organisation.id}\t{organisation.slug}")
    except ProblemError as exc:
        raise _fail(str(exc)) from None


@org_app.command("list")
def org_list() -> None:
    """List organisations: slug, kind, whether TOTP is required, name (tab-separated)."""
    from housing_match.organisations.service import list_organisations

    with cli_session() as session:
        for organisation in list_organisations(session):
            totp = "totp-required" if organisation.totp_required else "totp-optional"
            typer.echo(f"{organisation.slug}\t{organisation.kind}\t{totp}\t{organisation.name}")


@org_app.command("set-totp")
def org_set_totp(
    org: Annotated[str, typer.Option(help="The organisation's slug.")],
    required: Annotated[
        bool, typer.Option("--required/--optional", help="Whether its users need a TOTP code.")
    ],
) -> None:
    """Require TOTP of an organisation's users, or not (centers and admins always do)."""
    from housing_match.organisations.service import get_organisation_by_slug, set_totp_required

    try:
        with cli_session() as session:
            organisation = get_organisation_by_slug(session, org)
            set_totp_required(session, CLI_ACTOR, organisation, required)
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{org}: TOTP {'required' if required else 'optional'}", err=True)


@key_app.command("create")
def key_create(
    org: Annotated[str, typer.Option(help="The organisation's slug.")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Refuse the key after this many days.")
    ] = None,
) -> None:
    """Create an API key; prints the key alone on stdout (it is shown only once)."""
    from datetime import UTC, datetime, timedelta

    from housing_match.organisations.service import create_api_key, get_organisation_by_slug

    expires_at = (
        None if expires_in_days is None else datetime.now(UTC) + timedelta(days=expires_in_days)
    )
    try:
        with cli_session() as session:
            organisation = get_organisation_by_slug(session, org)
            _, secret = create_api_key(
                session, CLI_ACTOR, organisation, label=label, expires_at=expires_at
            )
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(secret)


def _when(moment: object) -> str:
    return "-" if moment is None else str(getattr(moment, "isoformat", lambda: moment)())


@key_app.command("list")
def key_list(org: Annotated[str, typer.Option(help="The organisation's slug.")]) -> None:
    """List an organisation's keys: id, prefix, label, created, last used, expires, revoked."""
    from housing_match.organisations.service import get_organisation_by_slug, list_api_keys

    try:
        with cli_session() as session:
            keys = list_api_keys(session, get_organisation_by_slug(session, org))
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo("id\tprefix\tlabel\tcreated\tlast_used\texpires\trevoked")
    for key in keys:
        typer.echo(
            f"{key.id}\t{key.prefix}\t{key.label}\t{_when(key.created_at)}\t"
            f"{_when(key.last_used_at)}\t{_when(key.expires_at)}\t{_when(key.revoked_at)}"
        )


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from key list).")],
) -> None:
    """Revoke an API key at once; an already revoked key is an error."""
    import uuid

    from housing_match.organisations.service import find_api_key, revoke_api_key

    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise _fail(f"{key_id!r} is not a key id; see: housing-match key list --org SLUG") from None
    try:
        with cli_session() as session:
            revoke_api_key(session, CLI_ACTOR, find_api_key(session, None, parsed))
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"revoked {parsed}", err=True)


@user_app.command("invite")
def user_invite(
    org: Annotated[str, typer.Option(help="The organisation's slug.")],
    email: Annotated[str, typer.Option(help="The login e-mail address.")],
    name: Annotated[str, typer.Option(help="The person's name, e.g. 山田 花子.")],
    role: Annotated[UserRole, typer.Option(help="staff or manager.")] = UserRole.STAFF,
) -> None:
    """Create a user and print their one-time invitation link (valid 72 hours by default)."""
    from pydantic import TypeAdapter

    from housing_match.accounts.schemas import UserInvite
    from housing_match.accounts.service import CLI_CLIENT, invite_user
    from housing_match.organisations.service import get_organisation_by_slug

    try:
        data = TypeAdapter(UserInvite).validate_python({"email": email, "name": name, "role": role})
    except ValidationError as exc:
        raise _fail("; ".join(error["msg"] for error in exc.errors())) from None
    try:
        with cli_session() as session:
            organisation = get_organisation_by_slug(session, org)
            issued = invite_user(
                session, CLI_ACTOR, organisation, email=str(data.email), name=data.name,
                role=data.role, client=CLI_CLIENT,
            )  # fmt: skip
            url, expires = issued.url, issued.invitation.expires_at
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"invited {data.email} ({data.role.value}); the link works once, until {expires}", err=True
    )
    typer.echo(url)


@user_app.command("reset")
def user_reset(email: Annotated[str, typer.Option(help="The user's e-mail address.")]) -> None:
    """Print a new one-time link for a user who lost their password or device (recorded)."""
    from housing_match.accounts.service import CLI_CLIENT, get_user_by_email, reissue_invitation

    try:
        with cli_session() as session:
            user = get_user_by_email(session, email)
            issued = reissue_invitation(session, CLI_ACTOR, user, client=CLI_CLIENT)
            url = issued.url
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(url)


@user_app.command("list")
def user_list(
    org: Annotated[str | None, typer.Option(help="Only this organisation's users.")] = None,
) -> None:
    """List users: e-mail, organisation, role, status, TOTP, name (tab-separated)."""
    from housing_match.accounts.service import list_users, user_status
    from housing_match.organisations.service import get_organisation_by_slug, list_organisations

    try:
        with cli_session() as session:
            organisation_id = None if org is None else get_organisation_by_slug(session, org).id
            slugs = {item.id: item.slug for item in list_organisations(session)}
            for user in list_users(session, organisation_id):
                totp = "totp" if user.totp_secret else "no-totp"
                typer.echo(
                    f"{user.email}\t{slugs[user.organisation_id]}\t{user.role}\t"
                    f"{user_status(user)}\t{totp}\t{user.name}"
                )
    except ProblemError as exc:
        raise _fail(str(exc)) from None


@user_app.command("deactivate")
def user_deactivate(email: Annotated[str, typer.Option(help="The user's e-mail address.")]) -> None:
    """Deactivate a user: their sessions and invitation links end at once."""
    from housing_match.accounts.service import CLI_CLIENT, deactivate_user, get_user_by_email

    try:
        with cli_session() as session:
            deactivate_user(
                session, CLI_ACTOR, get_user_by_email(session, email), client=CLI_CLIENT
            )
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"deactivated {email}", err=True)


@user_app.command("unlock")
def user_unlock(email: Annotated[str, typer.Option(help="The user's e-mail address.")]) -> None:
    """Lift a sign-in lock."""
    from housing_match.accounts.service import CLI_CLIENT, get_user_by_email, unlock_user

    try:
        with cli_session() as session:
            unlock_user(session, CLI_ACTOR, get_user_by_email(session, email), client=CLI_CLIENT)
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"unlocked {email}", err=True)


@demo_app.command("load")
def demo_load(
    dwellings: Annotated[int, typer.Option(help="Size of the demo registry.")] = 3000,
) -> None:
    """Create demo organisations and a demo registry; print one fresh key per organisation kind."""
    from housing_match.demo import load_demo
    from housing_match.demo_registry import load_demo_registry

    def progress(message: str) -> None:
        typer.echo(message, err=True)

    with cli_session() as session:
        keys, users = load_demo(session, progress=progress)
        load_demo_registry(session, dwellings=dwellings, progress=progress)
    typer.echo("Demo API keys (shown once):")
    for slug, kind, secret in keys:
        typer.echo(f"  {kind:<20} {slug:<28} {secret}")
    typer.echo(
        "Try: curl -H 'Authorization: Bearer <key>' http://127.0.0.1:8000/v1/organisations/me"
    )
    typer.echo("Demo users, one manager per organisation (passwords shown once):")
    for user in users:
        typer.echo(f"  {user.slug:<28} {user.email:<44} {user.password}")
    typer.echo(
        "Sign in at http://127.0.0.1:8000/login (no TOTP code in the development environment)"
    )


def _job_done(summary: str, report: JobReport) -> None:
    """A job's line on stderr and its count on stdout; exit 1 when items failed, after the
    rest committed, so whoever schedules the job hears of them (the log names each)."""
    failed = report.failed_count
    typer.echo(summary + (f"; {failed} failed (see the log)" if failed else ""), err=True)
    typer.echo(str(report.done))
    if failed:
        raise typer.Exit(1)


@vacancies_app.command("expire")
def vacancies_expire() -> None:
    """Mark open vacancies past their expiry as expired (reads already treat them so)."""
    from housing_match.vacancies.service import expire_overdue_vacancies

    with cli_session() as session:
        report = expire_overdue_vacancies(session, CLI_ACTOR)
    _job_done(f"expired {report.done} vacancies", report)


@referrals_app.command("expire-holds")
def referrals_expire_holds() -> None:
    """Release holds past their expiry and reopen their vacancies (reads already treat them so)."""
    from housing_match.referrals.service import expire_holds

    with cli_session() as session:
        report = expire_holds(session, CLI_ACTOR)
    _job_done(f"released {report.done} expired holds", report)


@referrals_app.command("flag-stalled")
def referrals_flag_stalled() -> None:
    """Flag open referrals unchanged for referral_stall_days and notify their corporations."""
    from housing_match.referrals.service import flag_stalled

    with cli_session() as session:
        report = flag_stalled(session, CLI_ACTOR)
    _job_done(f"flagged {report.done} stalled referrals", report)


@webhooks_app.command("run")
def webhooks_run(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
) -> None:
    """Deliver webhook events from the outbox: signed, retried with backoff, until stopped."""
    from housing_match.referrals.worker import run

    report = run(once=once)
    typer.echo(str(report), err=True)
    if report.failed:
        raise typer.Exit(1)


@import_app.command("dwellings")
def import_dwellings(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV (UTF-8/Shift_JIS) or GeoJSON.")
    ],
    org: Annotated[
        str, typer.Option(help="Slug of the importing municipality or support corporation.")
    ],
    dry_run: Annotated[bool, typer.Option(help="Validate and report; write nothing.")] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write the report of every row to this file: .csv (UTF-8 with BOM) or .xlsx.",
            callback=_report_file,
        ),
    ] = None,
) -> None:
    """Upsert dwellings by registration number; print a summary and every rejected row."""
    from housing_match.organisations.service import get_organisation_by_slug
    from housing_match.registry import bulk_service

    raw = file.read_bytes()
    try:
        with cli_session() as session:
            importer = bulk_service.Importer.from_organisation(
                get_organisation_by_slug(session, org)
            )
            total, rows = bulk_service.read_source(raw, filename=file.name)
            with typer.progressbar(length=total, label="Checking rows", file=sys.stderr) as bar:
                result = bulk_service.import_dwellings(
                    session,
                    importer,
                    rows,
                    total_rows=total,
                    dry_run=dry_run,
                    progress=bar.update,
                    # The written report lists every row; the terminal only the rejected.
                    listed_rows=None if report is not None else 0,
                )
            typer.echo("Writing…" if not dry_run else "Dry run: nothing written.", err=True)
    except ProblemError as exc:
        raise _fail(str(exc)) from None
    for row in result.rows:
        if row.outcome == "rejected":
            typer.echo(f"row {row.row}: rejected: {'; '.join(row.reasons)}", err=True)
    if report is not None:
        _write_import_report(report, result)
    typer.echo(
        f"accepted {result.accepted}, updated {result.updated}, unchanged {result.unchanged}, "
        f"rejected {result.rejected} of {result.total_rows} rows"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if not dry_run and (result.accepted or result.updated):
        # The rent-balance audit reads medians kept per dwelling: bring them up to date now
        # rather than at the next scheduled refresh.
        rent_balance_refresh(full=False)


@rent_balance_app.command("refresh")
def rent_balance_refresh(
    full: Annotated[
        bool, typer.Option("--full", help="Recompute every registered dwelling.")
    ] = False,
) -> None:
    """Recompute the comparables' medians near the dwellings changed since the last refresh
    (all of them with --full, on a first run, or after the radius setting changed). Run it
    periodically: the audit shows the time of the medians and what changed since."""
    from housing_match.audit.rent_refresh import refresh_rent_comparables

    with cli_session() as session:
        report = refresh_rent_comparables(session, full=full)
    typer.echo(report.summary(), err=True)
    if report.mode == "busy":
        raise _fail("another rent-balance refresh is running; nothing done")


def _report_file(path: Path | None) -> Path | None:
    if path is not None and path.suffix.lower() not in {".csv", ".xlsx"}:
        raise typer.BadParameter(f"{path.name}: the report's file name must end in .csv or .xlsx")
    return _output_file(path)


def _write_import_report(path: Path, result: ImportReport) -> None:
    """Every row of the file, in Japanese like the export: CSV (UTF-8 with a BOM, for Excel)
    or an Excel workbook."""
    from housing_match.registry.schemas import IMPORT_OUTCOME_LABELS_JA, ImportOutcome
    from housing_match.spreadsheet import csv_document, xlsx_document

    rows = (
        [row.row, row.registration_number, IMPORT_OUTCOME_LABELS_JA[ImportOutcome(row.outcome)],
         str(row.dwelling_id) if row.dwelling_id else None, "; ".join(row.reasons)]
        for row in result.rows
    )  # fmt: skip
    header = ["行", "登録番号", "結果", "住宅ID", "理由"]
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(xlsx_document("取込結果", header, rows))
    else:
        path.write_bytes(csv_document(header, rows))
    typer.echo(f"wrote {path} ({len(result.rows):,} rows)", err=True)


_EXPORT_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json")


def _export_file(path: Path | None) -> Path | None:
    if path is not None and path.suffix.lower() not in _EXPORT_SUFFIXES:
        raise typer.BadParameter(
            f"{path.name}: the file name must end in {', '.join(_EXPORT_SUFFIXES)} "
            "(CSV for Excel, an Excel workbook, or GeoJSON)"
        )
    return _output_file(path)


@export_app.command("dwellings")
def export_dwellings(
    output: Annotated[
        Path,
        typer.Option(
            help="File to write: .csv (UTF-8 with BOM), .xlsx (Excel workbook) or .geojson.",
            callback=_export_file,
        ),
    ],
    municipality_code: Annotated[
        list[str] | None, typer.Option(help="Only this municipality; repeat for more.")
    ] = None,
    prefecture: Annotated[str | None, typer.Option(help="Only this prefecture (2 digits).")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Statuses to export (default: registered).")
    ] = None,
) -> None:
    """Export dwellings as CSV (UTF-8 with BOM, Japanese headers), an Excel workbook (same
    columns, numbers as numbers) or GeoJSON, by file suffix."""
    import json

    from housing_match.registry import bulk_format, bulk_service
    from housing_match.registry.repository import DwellingFilters

    filters = DwellingFilters(
        statuses=tuple(status or ("registered",)),
        municipality_codes=tuple(municipality_code or ()),
        prefecture_code=prefecture,
    )
    with cli_session() as session:
        rows, ids = bulk_service.export_rows(session, filters)
    suffix = output.suffix.lower()
    if suffix in {".geojson", ".json"}:
        document = bulk_format.geojson_document(rows, ids)
        output.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".xlsx":
        output.write_bytes(bulk_format.xlsx_document(rows))
    else:
        output.write_bytes(bulk_format.csv_document(rows))
    typer.echo(f"wrote {len(rows)} dwellings to {output}", err=True)


@app.command("openapi")
def openapi(
    output: Annotated[
        Path | None,
        typer.Option(help="Write to this file instead of stdout.", callback=_output_file),
    ] = None,
) -> None:
    """Print (or write) the OpenAPI document the app generates."""
    from housing_match.openapi_spec import render_openapi

    text = render_openapi()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("bench")
def bench(
    dwellings: Annotated[
        int, typer.Option(min=1, help="Size of the synthetic national registry.")
    ] = 1_000_000,
    output: Annotated[
        Path, typer.Option(help="Write the JSON report here.", callback=_output_file)
    ] = Path("bench.json"),
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The bench's own database (dropped and rebuilt); default: <app>_bench_national."
        ),
    ] = None,
    persons: Annotated[int, typer.Option(min=1, help="Persons whose matches are timed.")] = 200,
    allocation_persons: Annotated[
        int, typer.Option(min=1, help="Persons in the allocation.")
    ] = 200,
    rps_seconds: Annotated[float, typer.Option(min=1, help="Length of the HTTP phase.")] = 20.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 24,
    server_workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 7,
    reuse: Annotated[
        bool,
        typer.Option(
            help="Keep the bench database when it already holds a complete registry of this "
            "size and seed (the import is then not timed)."
        ),
    ] = False,
    search_requests: Annotated[
        int, typer.Option(min=1, help="Searches timed (dwellings and vacancies, mixed).")
    ] = 200,
    phase_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds a users' job (a report, the search mix, the export) may take "
            "before it is reported as missed.",
        ),
    ] = 120.0,
) -> None:
    """Build a synthetic national registry in its own database and time import, matching,
    allocation, HTTP throughput and the other users' jobs (search, audits, the standards
    check's rent balance, export); write the figures as JSON."""
    import json

    from housing_match.bench.run import BenchOptions, run_bench

    options = BenchOptions(
        dwellings=dwellings,
        database_url=database_url,
        persons=persons,
        allocation_persons=allocation_persons,
        rps_seconds=rps_seconds,
        concurrency=concurrency,
        server_workers=server_workers,
        seed=seed,
        reuse=reuse,
        search_requests=search_requests,
        phase_timeout_s=phase_timeout,
    )
    command = f"housing-match bench --dwellings {dwellings} --output {output}"
    defaults = BenchOptions()
    for name in ("persons", "allocation_persons", "rps_seconds", "concurrency", "server_workers",
                 "seed", "search_requests"):  # fmt: skip
        if getattr(options, name) != getattr(defaults, name):
            command += f" --{name.replace('_', '-')} {getattr(options, name)}"
    if phase_timeout != defaults.phase_timeout_s:
        command += f" --phase-timeout {phase_timeout:g}"
    if reuse:
        command += " --reuse"
    if database_url is not None:
        command += " --database-url <given>"
    try:
        with _stopped_cleanly_on_sigterm():
            report = run_bench(
                options, command=command, progress=lambda message: typer.echo(message, err=True)
            )
    except (ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    typer.echo(f"wrote {output}", err=True)
    if dwellings != BenchOptions().dwellings:
        typer.echo(f"(the targets are set for {BenchOptions().dwellings:,} dwellings)", err=True)
    for key, checked in report["targets"].items():
        verdict = "met   " if checked["met"] else "MISSED"
        typer.echo(f"{verdict} {key} = {report[key]} (target {checked['target']})", err=True)


@app.command("bench-pages")
def bench_pages(
    dwellings: Annotated[int, typer.Option(min=1, help="Size of the demo registry.")] = 3000,
    persons: Annotated[int, typer.Option(min=1, help="Persons of the demo center.")] = 30,
    rounds: Annotated[int, typer.Option(min=1, help="Timed requests per page and person.")] = 3,
    output: Annotated[
        Path, typer.Option(help="Write the JSON report here.", callback=_output_file)
    ] = Path("bench-pages.json"),
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The bench's own database (dropped and rebuilt); default: <app>_bench_pages."
        ),
    ] = None,
) -> None:
    """Load the demo data in its own database and time every page of a support center
    (server time, p50/p95) against the 300 ms p95 target; write the figures as JSON."""
    from housing_match.bench.pages import PageBenchOptions, run_page_bench, write_report

    options = PageBenchOptions(
        dwellings=dwellings, persons=persons, rounds=rounds, database_url=database_url
    )
    command = (
        f"housing-match bench-pages --dwellings {dwellings} --persons {persons} "
        f"--rounds {rounds} --output {output}"
    )
    try:
        with _stopped_cleanly_on_sigterm():
            report = run_page_bench(
                options, command=command, progress=lambda message: typer.echo(message, err=True)
            )
    except (ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(write_report(report, output))
    typer.echo(f"wrote {output}", err=True)
    for page, checked in report["targets"].items():
        verdict = "met   " if checked["met"] else "MISSED"
        p95 = report["pages"][page].get("p95")
        typer.echo(f"{verdict} {page}: p95 {p95} ms (target {checked['target']})", err=True)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option()] = 1,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    typer.echo(f"housing-match on http://{host}:{port} (docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run("housing_match.app:app", host=host, port=port, workers=workers)


@app.command("loadtest")
def loadtest(
    seconds: Annotated[float, typer.Option(min=1, help="How long the clients run.")] = 60,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 32,
    dwellings: Annotated[int, typer.Option(min=50, help="Size of the demo registry.")] = 3000,
    persons: Annotated[
        int | None,
        typer.Option(min=1, help="Persons to match and refer (default: 8 per client)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="uvicorn worker processes (one per core).")
    ] = 2,
    output: Annotated[
        Path | None, typer.Option(help="Write the figures as JSON here.", callback=_output_file)
    ] = None,
) -> None:
    """Load-test the API on loopback in its own database (<app database>_load, rebuilt), then
    reconcile every write with the database; exits 1 on any error or mismatch."""
    import json

    from housing_match.loadtest import load_database_url, run_loadtest, summary
    from housing_match.settings import get_settings

    try:
        with _stopped_cleanly_on_sigterm():
            report = run_loadtest(
                load_database_url(get_settings().database_url),
                seconds=seconds,
                clients=clients,
                dwellings=dwellings,
                persons=persons if persons is not None else 8 * clients,
                workers=workers,
                progress=lambda message: typer.echo(message, err=True),
            )
    except RuntimeError as exc:
        raise _fail(str(exc)) from None
    typer.echo(summary(report))
    if output is not None:
        output.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
        typer.echo(f"wrote {output}", err=True)
    if not report.passed:
        raise typer.Exit(code=1)


def main() -> None:
    try:
        app()
    except OperationalError as exc:
        # The database is down or unreachable: say so, not with a traceback of the driver.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        typer.echo(
            f"error: the database failed: {reason}\n"
            "Is PostgreSQL running, and HOUSING_MATCH_DATABASE_URL right? (make setup starts "
            "the local one.)",
            err=True,
        )
        raise SystemExit(1) from None
