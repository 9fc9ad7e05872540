"""Bulk import and export of the registry.

An import is all-or-nothing at the level of the file (one transaction: a crash leaves no
half-written batch) and row-by-row at the level of validation (a bad row is reported with its
number and reasons and never stops the good ones). Rows are upserted by (registering
authority, registration number), so importing the same file twice changes nothing.

What an import means depends on who sends it, as in the single-dwelling API:

- a **municipality** loads its own register: rows become registered dwellings, so a row that
  does not meet the standards in force today is rejected with its violations;
- a **support corporation** files applications (登録申請): rows become applications for the
  municipality governing them, with their standards report, and it may update only its own.

The rent-balance check (近傍同種) is advisory and needs a spatial query per row; it is left to the
audit report rather than run 100,000 times here.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import multiprocessing.pool
import os
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal
from housing_match.errors import Conflict, NotPermitted, PayloadTooLarge, UnprocessableEntity
from housing_match.history.service import record_change
from housing_match.models import Organisation, OrganisationKind
from housing_match.organisations.repository import OrganisationRepository
from housing_match.registry import bulk_format
from housing_match.registry.bulk_format import CsvRows, SourceRow
from housing_match.registry.bulk_prepare import (
    ID_WIDTH,
    Authority,
    PrepareContext,
    PreparedChunk,
    prepare_rows,
    prepare_text,
)
from housing_match.registry.bulk_repository import BulkDwellingRepository, ExistingDwelling
from housing_match.registry.repository import (
    DwellingFilters,
    DwellingManagerRepository,
    DwellingRepository,
    StandardsProfileRepository,
)
from housing_match.registry.schemas import DwellingStatus
from housing_match.registry.service import rule_profiles, today

Progress = Callable[[int], None]
# A report lists every rejected row and the others up to this many (a response of a register's
# every row would be tens of megabytes); the CLI's written report lists them all.
REPORTED_ROWS_MAX = 10_000
# Below this, starting worker processes costs more than it saves.
POOL_THRESHOLD_ROWS = 5_000
# Once they run (a server, or a CLI importing several files), they pay from this size: the
# rows are prepared while the database inserts those before them, instead of in turn.
POOL_RUNNING_THRESHOLD_ROWS = 1_000
# From this size a municipality's import reads its existing register once and streams its
# chunks into an open COPY, so the database never waits for a lookup between chunks.
STREAM_THRESHOLD_ROWS = 5_000
# A smaller file streams too when the register holds at most this many dwellings per row of
# the file: reading such a register whole costs less than a lookup per chunk (about 5 ms
# each, with no COPY running meanwhile).
REGISTER_READ_ROWS_PER_ROW = 4
# The database checks a COPY's foreign keys only when the COPY ends, row by row (about a
# third of its work); ending one every so many rows has it check them while the workers
# prepare the next rows, instead of all at once after the last.
COPY_BATCH_ROWS = 10_000
CHUNK_ROWS = 2_000
# A smaller file is cut into at least this many chunks per worker (of no fewer rows than
# MIN_CHUNK_ROWS): the database waits for the first chunk to be prepared, and the workers for
# the database to insert the last, so chunks of 2,000 rows would leave a file of a few
# thousand mostly unpipelined.
CHUNKS_PER_WORKER = 4
MIN_CHUNK_ROWS = 250
WORKER_NICENESS = 10


@dataclass(frozen=True)
class Importer:
    """The organisation an import is made for, and who is recorded as making it."""

    organisation_id: uuid.UUID
    kind: OrganisationKind
    jurisdiction_codes: tuple[str, ...]
    actor: Actor

    @classmethod
    def from_principal(cls, principal: Principal) -> Importer:
        return cls(
            principal.organisation_id,
            principal.kind,
            principal.jurisdiction_codes,
            principal.actor,
        )

    @classmethod
    def from_organisation(cls, organisation: Organisation) -> Importer:
        return cls(
            organisation.id,
            OrganisationKind(organisation.kind),
            tuple(organisation.jurisdiction_codes),
            Actor(organisation_id=organisation.id, api_key_id=None, channel="cli"),
        )


@dataclass
class RowOutcome:
    row: int
    registration_number: str | None
    outcome: str  # accepted | updated | unchanged | rejected
    dwelling_id: uuid.UUID | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    total_rows: int = 0
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    dry_run: bool = False
    rows: list[RowOutcome] = field(default_factory=list)
    # Rows accepted, updated or unchanged that ``rows`` leaves out (beyond the listed ones).
    unlisted: int = 0

    def count(self, outcome: RowOutcome) -> None:
        setattr(self, outcome.outcome, getattr(self, outcome.outcome) + 1)


def read_source(
    raw: bytes, *, filename: str | None = None, limits: bulk_format.ReadLimits | None = None
) -> tuple[int, Iterator[SourceRow]]:
    """The rows of a CSV or GeoJSON file. ``limits`` (a request's) are checked before any row
    is prepared; the CLI imports an operator's own files without them."""
    try:
        if bulk_format.sniff_format(raw, filename) == "geojson":
            return bulk_format.read_geojson(raw, limits)
        return bulk_format.read_csv(raw, limits)
    except bulk_format.TooManyRows as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except bulk_format.FileFormatError as exc:
        raise UnprocessableEntity(str(exc)) from exc


def import_dwellings(
    session: Session,
    importer: Importer,
    rows: Iterator[SourceRow],
    *,
    total_rows: int,
    dry_run: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    listed_rows: int | None = REPORTED_ROWS_MAX,
) -> ImportReport:
    """Imports the rows; the report lists every rejected row and the others up to
    ``listed_rows`` (None: every row)."""
    if importer.kind not in {OrganisationKind.MUNICIPALITY, OrganisationKind.SUPPORT_CORPORATION}:
        raise NotPermitted("Imports are for municipalities and support corporations.")
    if workers is None:
        workers = _workers_for(total_rows)
    stream = _streams(session, importer, total_rows)
    context = _context(session, importer)
    writer = _ImportWriter(
        session, importer, tuple(m.id for m in context.municipalities), stream=stream
    )
    savepoint = session.begin_nested() if dry_run else None
    try:
        with (
            _collector_paused(),
            writer,
            _prepared_chunks(
                context, rows, workers, chunk_rows=chunk_rows(total_rows, workers)
            ) as chunks,
        ):
            for chunk in chunks:
                writer.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        report = writer.finish(total_rows=total_rows, dry_run=dry_run, listed_rows=listed_rows)
    except (IntegrityError, psycopg.errors.IntegrityError) as exc:
        raise Conflict(
            "Another change to the same dwellings landed during the import; nothing was "
            "written. Run the import again."
        ) from exc
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while an import runs: it keeps a small tuple per row
    until the report, and every collection walked them all again (a third of this process's
    CPU in an import of 100,000 rows), while what it allocates holds no reference cycles.
    The collector is the process's; an import that overlaps another leaves it to the one
    that paused it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _context(session: Session, importer: Importer) -> PrepareContext:
    municipalities = OrganisationRepository(session).list(kind=OrganisationKind.MUNICIPALITY.value)
    registering = importer.kind is OrganisationKind.MUNICIPALITY
    return PrepareContext(
        importer_id=importer.organisation_id,
        importer_kind=importer.kind,
        importer_jurisdiction=importer.jurisdiction_codes,
        municipalities=tuple(
            Authority(org.id, org.slug, tuple(org.jurisdiction_codes)) for org in municipalities
        ),
        profiles=tuple(rule_profiles(StandardsProfileRepository(session).all())),
        as_of=today(),
        status=(DwellingStatus.REGISTERED.value if registering else DwellingStatus.APPLIED.value),
        registered_on=today() if registering else None,
        checked_at=datetime.now(UTC),
    )


def _streams(session: Session, importer: Importer, total_rows: int) -> bool:
    """Whether the import reads the importer's register once and streams into one COPY
    (``_ImportWriter``); only a municipality's rows all go to its own register."""
    if importer.kind is not OrganisationKind.MUNICIPALITY:
        return False
    if total_rows >= STREAM_THRESHOLD_ROWS:
        return True
    most = REGISTER_READ_ROWS_PER_ROW * total_rows
    return most > 0 and BulkDwellingRepository(session).register_holds_at_most(
        importer.organisation_id, most
    )


def _workers_for(total_rows: int) -> int:
    cores = os.cpu_count() or 1
    running = _pool_running(cores)
    return (
        cores
        if total_rows >= (POOL_RUNNING_THRESHOLD_ROWS if running else POOL_THRESHOLD_ROWS)
        else 1
    )


def chunk_rows(total_rows: int, workers: int) -> int:
    """Rows per prepared chunk: ``CHUNK_ROWS``, or fewer for a file too small to keep every
    worker and the database busy with chunks of that size."""
    if workers <= 1:
        return CHUNK_ROWS
    return min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, total_rows // (workers * CHUNKS_PER_WORKER)))


@contextmanager
def _prepared_chunks(
    context: PrepareContext, rows: Iterator[SourceRow], workers: int, *, chunk_rows: int
) -> Iterator[Iterator[PreparedChunk]]:
    texts = rows.text_chunks(chunk_rows) if isinstance(rows, CsvRows) else None
    if isinstance(rows, CsvRows) and texts is not None:
        # Workers get raw CSV text and parse it themselves: parsing in this process would
        # cost as much as the rest of its work together.
        yield from _mapped(partial(prepare_text, context, rows.keys), texts, workers)
    else:
        chunks = _chunked(rows, chunk_rows)
        yield from _mapped(partial(prepare_rows, context), chunks, workers)


def _mapped(
    prepare: Callable[[Any], PreparedChunk], chunks: Iterator[Any], workers: int
) -> Iterator[Iterator[PreparedChunk]]:
    if workers <= 1:
        yield (prepare(chunk) for chunk in chunks)
        return
    yield _worker_pool(workers).imap(prepare, chunks)


# Not plain fork: the parent may be a threaded server holding locks. A fork server is started
# once per process and forks the workers from it, with what they need already imported.
_POOL_CONTEXT = multiprocessing.get_context("forkserver")
# One pool per process, kept between imports: starting workers and warming them costs more
# than preparing a municipality's file of a few thousand rows. Pool.imap may be called from
# several threads at once; each call gets its own results.
_pools: dict[int, multiprocessing.pool.Pool] = {}
_pools_lock = threading.Lock()


def _start_worker() -> None:
    """Workers are background work: at a lower priority, the database (which inserts the rows
    they prepare, one process per import, and is what an import waits for) and requests get
    the cores first.

    Everything a worker holds when it starts (the modules it inherited) lives as long as the
    worker, so the garbage collector is told to stop looking at it: the preparing code
    allocates a list or tuple per cell and record, and each collection walked all of that
    too, half of a worker's instructions."""
    os.nice(WORKER_NICENESS)
    gc.freeze()


def _preloaded_modules() -> list[str]:
    """What the fork server imports before it forks a worker: every module of the service this
    process has loaded. A worker runs the parent's main module again (multiprocessing does, so
    that pickled functions resolve); the preparing code alone left that to import the CLI or
    the web stack in each worker, 1.4 s of CPU apiece at the first import of a process.
    (Python 3.11 ignores "__main__" in this list.)"""
    return sorted(name for name in sys.modules if name.partition(".")[0] == "housing_match")


def _worker_pool(workers: int) -> multiprocessing.pool.Pool:
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            if not _pools:
                _POOL_CONTEXT.set_forkserver_preload(_preloaded_modules())
            pool = _pools[workers] = _POOL_CONTEXT.Pool(workers, initializer=_start_worker)
            atexit.register(pool.terminate)
        return pool


def _pool_running(workers: int) -> bool:
    with _pools_lock:
        return workers in _pools


def worker_pids() -> list[int]:
    """The process ids of this process's import workers (for measuring their CPU time)."""
    with _pools_lock:
        pools = list(_pools.values())
    return [process.pid for pool in pools for process in pool._pool]  # type: ignore[attr-defined]


def _chunked(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    chunk: list[SourceRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# What the writer keeps of a row until the report: (outcome, registration number, dwelling id
# as text, reasons). Small tuples; RowOutcome objects are made only for the reported rows.
_Outcome = tuple[str, str | None, str | None, list[str]]


class _ImportWriter:
    """Takes prepared chunks in file order: rejects, inserts at once, collects updates.

    Streaming (a municipality's large file), the existing register is read once and new rows
    go through a COPY that stays open for ``COPY_BATCH_ROWS`` rows; otherwise each chunk looks
    its rows up and is copied on its own (a corporation's rows may go to any authority).
    """

    def __init__(
        self,
        session: Session,
        importer: Importer,
        authority_ids: tuple[uuid.UUID, ...],
        *,
        stream: bool,
    ) -> None:
        self.session = session
        self.importer = importer
        self.authority_ids = authority_ids  # PreparedChunk.authorities index these
        self.registering = importer.kind is OrganisationKind.MUNICIPALITY
        self.repository = BulkDwellingRepository(session)
        self.stream = stream
        self.outcomes: dict[int, _Outcome] = {}
        self.seen: dict[tuple[int, str], int] = {}
        # (row number, dwelling id, registration number, COPY line with that id, reasons)
        self.updates: list[tuple[int, uuid.UUID, str, bytes, list[str]]] = []
        self.inserted: list[str] = []
        self._own: dict[str, ExistingDwelling] | None = None
        self._exits = ExitStack()
        self._copy: psycopg.Copy | None = None
        self._copied = 0  # rows in the open COPY

    def __enter__(self) -> _ImportWriter:
        if self.stream:
            self._own = self.repository.of_authority(self.importer.organisation_id)
        return self

    def __exit__(self, *exc: Any) -> None:
        # On an error the open COPY is abandoned (CopyFail), never completed.
        self._exits.__exit__(*exc)
        self._copy = None

    def _stream(self, lines: list[bytes]) -> None:
        if not lines:
            return
        if self._copy is None:
            self._exits = ExitStack()
            self._copy = self._exits.enter_context(self.repository.copying_new())
            self._copied = 0
        self._copy.write(b"".join(lines))
        self._copied += len(lines)
        if self._copied >= COPY_BATCH_ROWS:
            self.__exit__(None, None, None)

    def _existing(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], ExistingDwelling]:
        if self._own is not None:
            own = self._own
            return {key: own[key[1]] for key in keys if key[1] in own}
        ids = self.authority_ids
        found = self.repository.existing([(ids[a], number) for a, number in keys])
        index = {authority_id: i for i, authority_id in enumerate(ids)}
        return {(index[a], number): dwelling for (a, number), dwelling in found.items()}

    def write(self, chunk: PreparedChunk) -> None:
        outcomes = self.outcomes
        seen = self.seen
        valid: list[tuple[int, tuple[int, str], bytes, tuple[dict[str, Any], ...]]] = []
        for number, registration_number, authority, errors, violations, line in zip(
            chunk.numbers,
            chunk.registration_numbers,
            chunk.authorities,
            chunk.errors,
            chunk.violations,
            chunk.lines,
            strict=True,
        ):
            if line is None or registration_number is None:
                outcomes[number] = ("rejected", registration_number, None, list(errors))
                continue
            key = (authority, registration_number)
            first = seen.get(key)
            if first is not None:
                reason = f"registration_number: the same number is on row {first}"
                outcomes[number] = ("rejected", registration_number, None, [reason])
                continue
            seen[key] = number
            if violations and self.registering:
                reasons = [f"{v['rule_id']}: {v['message_en']}" for v in violations]
                outcomes[number] = ("rejected", registration_number, None, reasons)
                continue
            valid.append((number, key, line, violations))
        existing = self._existing([key for _, key, _, _ in valid])
        new_lines: list[bytes] = []
        for number, key, line, violations in valid:
            registration_number = key[1]
            reasons = [v["message_en"] for v in violations] if violations else []
            found = existing.get(key)
            if found is None:
                new_lines.append(line)
                dwelling_id = line[:ID_WIDTH].decode()
                self.inserted.append(dwelling_id)
                outcomes[number] = ("accepted", registration_number, dwelling_id, reasons)
                continue
            problem = _update_problem(self.importer, registration_number, violations, found)
            if problem is not None:
                outcomes[number] = ("rejected", registration_number, None, [problem])
                continue
            # The same rendered row, under the stored dwelling's id.
            line = str(found.id).encode() + line[ID_WIDTH:]
            self.updates.append((number, found.id, registration_number, line, reasons))
        if self.stream:
            self._stream(new_lines)
        else:
            self.repository.insert_new(new_lines)

    def finish(self, *, total_rows: int, dry_run: bool, listed_rows: int | None) -> ImportReport:
        # The COPY must be complete (and its rows checked) before the UPDATE reads the table.
        self.__exit__(None, None, None)
        managing = self.importer.kind is OrganisationKind.SUPPORT_CORPORATION
        if managing:
            # A corporation applying for dwellings manages them, as through the API.
            DwellingManagerRepository(self.session).add_to_many(
                [uuid.UUID(dwelling_id) for dwelling_id in self.inserted],
                self.importer.organisation_id,
            )
        changed = self.repository.update_changed(
            [line for _, _, _, line, _ in self.updates],
            self.importer.actor,
            action="dwelling.import_updated",
        )
        for number, dwelling_id, registration_number, _, reasons in self.updates:
            outcome = "updated" if dwelling_id in changed else "unchanged"
            self.outcomes[number] = (outcome, registration_number, str(dwelling_id), reasons)
        report = ImportReport(total_rows=total_rows, dry_run=dry_run)
        counts = Counter(outcome for outcome, _, _, _ in self.outcomes.values())
        report.accepted = counts["accepted"]
        report.updated = counts["updated"]
        report.unchanged = counts["unchanged"]
        report.rejected = counts["rejected"]
        listed = len(self.outcomes) if listed_rows is None else listed_rows
        for number in sorted(self.outcomes):
            kept = self.outcomes[number]
            if kept[0] == "rejected" or len(report.rows) < listed:
                report.rows.append(
                    RowOutcome(
                        number, kept[1], kept[0], uuid.UUID(kept[2]) if kept[2] else None, kept[3]
                    )
                )
            else:
                report.unlisted += 1
        if report.accepted or report.updated:
            # New dwellings are recorded once per import (their state is the row itself until
            # a later change records its own before); each update has its own before/after.
            record_change(
                self.session,
                self.importer.actor,
                action="dwellings.imported",
                entity_type="dwelling_import",
                entity_id=uuid.uuid4(),
                before=None,
                after={
                    "total_rows": report.total_rows,
                    "accepted": report.accepted,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected": report.rejected,
                    "inserted_dwelling_ids": self.inserted,
                }
                | (
                    {"managing_corporation_id": str(self.importer.organisation_id)}
                    if managing and self.inserted
                    else {}
                ),
            )
        return report


def _update_problem(
    importer: Importer,
    registration_number: str,
    violations: tuple[dict[str, Any], ...],
    found: ExistingDwelling,
) -> str | None:
    if found.status not in {DwellingStatus.APPLIED.value, DwellingStatus.REGISTERED.value}:
        return (
            f"registration_number: dwelling {registration_number!r} is {found.status}; "
            "file a new application instead"
        )
    if importer.kind is OrganisationKind.SUPPORT_CORPORATION:
        if found.applicant_id != importer.organisation_id:
            return "registration_number: this number belongs to another applicant's dwelling"
        if found.status == DwellingStatus.REGISTERED.value and violations:
            broken = "; ".join(v["message_en"] for v in violations)
            return f"the change would break the standards of a registered dwelling: {broken}"
    return None


# --- export ---------------------------------------------------------------------------------


def export_rows(
    session: Session, filters: DwellingFilters
) -> tuple[list[dict[str, Any]], list[str]]:
    """The flat rows of a jurisdiction's dwellings, in registration-number order, and their
    ids (for the CLI's files; the API streams ``iter_export_rows``)."""
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for row, dwelling_id in iter_export_rows(session, filters):
        rows.append(row)
        ids.append(dwelling_id)
    return rows, ids


def iter_export_rows(
    session: Session, filters: DwellingFilters
) -> Iterator[tuple[dict[str, Any], str]]:
    """Each dwelling's flat row and id, in registration-number order, as they are read."""
    for columns, authority_slug in _stored_export_rows(session, filters):
        yield (
            bulk_format.flat_row_from_columns(columns, authority_slug=authority_slug),
            str(columns["id"]),
        )


def iter_export_csv_rows(session: Session, filters: DwellingFilters) -> Iterator[list[Any]]:
    """Each dwelling's cells of the CSV export, as ``iter_export_rows`` and ``csv_chunks``
    would write them, formatted in one go per row (the per-cell passes cost as much as the
    rest of the export)."""
    for columns, authority_slug in _stored_export_rows(session, filters):
        yield bulk_format.csv_cells_from_columns(columns, authority_slug=authority_slug)


def _stored_export_rows(
    session: Session, filters: DwellingFilters
) -> Iterator[tuple[Mapping[str, Any], str | None]]:
    """Each stored row an export reads, with its registering authority's slug."""
    authorities: dict[uuid.UUID, str | None] = {}
    organisations = OrganisationRepository(session)
    for columns in DwellingRepository(session).for_export(filters):
        authority_id = columns["authority_id"]
        if authority_id not in authorities:
            organisation = organisations.get(authority_id)
            authorities[authority_id] = organisation.slug if organisation else None
        yield columns, authorities[authority_id]
