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

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from housing_match.auth import Actor, Principal
from housing_match.errors import Conflict, NotPermitted, UnprocessableEntity
from housing_match.history.service import record_change
from housing_match.models import Organisation, OrganisationKind
from housing_match.organisations.repository import OrganisationRepository
from housing_match.registry import bulk_format
from housing_match.registry.bulk_format import SourceRow
from housing_match.registry.bulk_prepare import (
    Authority,
    PrepareContext,
    PreparedRow,
    prepare_rows,
)
from housing_match.registry.bulk_repository import BulkDwellingRepository, ExistingDwelling
from housing_match.registry.mapping import dwelling_input
from housing_match.registry.repository import (
    DwellingFilters,
    DwellingRepository,
    StandardsProfileRepository,
)
from housing_match.registry.schemas import DwellingStatus
from housing_match.registry.service import rule_profiles, today

Progress = Callable[[int], None]
REPORTED_ROWS_MAX = 10_000
# Below this, starting worker processes costs more than it saves.
POOL_THRESHOLD_ROWS = 5_000
CHUNK_ROWS = 2_000


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

    def count(self, outcome: RowOutcome) -> None:
        setattr(self, outcome.outcome, getattr(self, outcome.outcome) + 1)


def read_source(raw: bytes, *, filename: str | None = None) -> tuple[int, Iterator[SourceRow]]:
    try:
        if bulk_format.sniff_format(raw, filename) == "geojson":
            return bulk_format.read_geojson(raw)
        return bulk_format.read_csv(raw)
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
) -> ImportReport:
    if importer.kind not in {OrganisationKind.MUNICIPALITY, OrganisationKind.SUPPORT_CORPORATION}:
        raise NotPermitted("Imports are for municipalities and support corporations.")
    if workers is None:
        workers = (os.cpu_count() or 1) if total_rows >= POOL_THRESHOLD_ROWS else 1
    writer = _ImportWriter(session, importer)
    savepoint = session.begin_nested() if dry_run else None
    try:
        with _prepared_chunks(_context(session, importer), rows, workers) as chunks:
            for chunk in chunks:
                writer.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        report = writer.finish(total_rows=total_rows, dry_run=dry_run)
    except IntegrityError as exc:
        raise Conflict(
            "Another change to the same dwellings landed during the import; nothing was "
            "written. Run the import again."
        ) from exc
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


def _context(session: Session, importer: Importer) -> PrepareContext:
    municipalities = OrganisationRepository(session).list(kind=OrganisationKind.MUNICIPALITY.value)
    return PrepareContext(
        importer_id=importer.organisation_id,
        importer_kind=importer.kind,
        importer_jurisdiction=importer.jurisdiction_codes,
        municipalities=tuple(
            Authority(org.id, org.slug, tuple(org.jurisdiction_codes)) for org in municipalities
        ),
        profiles=tuple(rule_profiles(StandardsProfileRepository(session).all())),
        as_of=today(),
    )


@contextmanager
def _prepared_chunks(
    context: PrepareContext, rows: Iterator[SourceRow], workers: int
) -> Iterator[Iterator[list[PreparedRow]]]:
    chunks = _chunked(rows, CHUNK_ROWS)
    prepare = partial(prepare_rows, context)
    if workers <= 1:
        yield (prepare(chunk) for chunk in chunks)
        return
    # Spawned, not forked: the parent may be a threaded server holding locks.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield pool.imap(prepare, chunks)


def _chunked(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    chunk: list[SourceRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _ImportWriter:
    """Takes prepared chunks in file order: rejects, inserts at once, collects updates."""

    def __init__(self, session: Session, importer: Importer) -> None:
        self.session = session
        self.importer = importer
        self.repository = BulkDwellingRepository(session)
        self.outcomes: dict[int, RowOutcome] = {}
        self.seen: dict[tuple[uuid.UUID, str], int] = {}
        self.updates: list[tuple[int, uuid.UUID, tuple[Any, ...], list[str]]] = []
        self.inserted: list[uuid.UUID] = []
        registering = importer.kind is OrganisationKind.MUNICIPALITY
        self.status = (
            DwellingStatus.REGISTERED.value if registering else DwellingStatus.APPLIED.value
        )
        self.registered_on = today() if registering else None
        self.checked_at = datetime.now(UTC)

    def _reject(self, row: PreparedRow, reasons: list[str]) -> None:
        self.outcomes[row.number] = RowOutcome(
            row.number, row.registration_number, "rejected", reasons=reasons
        )

    def write(self, chunk: list[PreparedRow]) -> None:
        valid: list[tuple[PreparedRow, tuple[uuid.UUID, str], tuple[Any, ...]]] = []
        for row in chunk:
            if row.values is None or row.authority_id is None or row.registration_number is None:
                self._reject(row, list(row.errors))
                continue
            key = (row.authority_id, row.registration_number)
            if key in self.seen:
                first = self.seen[key]
                self._reject(row, [f"registration_number: the same number is on row {first}"])
                continue
            self.seen[key] = row.number
            if self.importer.kind is OrganisationKind.MUNICIPALITY and not row.compliant:
                self._reject(row, [f"{v['rule_id']}: {v['message_en']}" for v in row.violations])
                continue
            valid.append((row, key, row.values))
        existing = self.repository.existing([key for _, key, _ in valid])
        new_rows: list[tuple[Any, ...]] = []
        for row, key, values in valid:
            found = existing.get(key)
            problem = _update_problem(self.importer, row, found)
            if problem is not None:
                self._reject(row, [problem])
                continue
            reasons = [] if row.compliant else [v["message_en"] for v in row.violations]
            if found is None:
                dwelling_id = uuid.uuid4()
                new_rows.append(
                    (
                        dwelling_id,
                        key[0],
                        self.importer.organisation_id,
                        self.status,
                        self.registered_on,
                        self.checked_at,
                        *values,
                    )
                )
                self.inserted.append(dwelling_id)
                self.outcomes[row.number] = RowOutcome(
                    row.number, row.registration_number, "accepted", dwelling_id, reasons
                )
            else:
                self.updates.append((row.number, found.id, values, reasons))
        self.repository.insert_new(new_rows)

    def finish(self, *, total_rows: int, dry_run: bool) -> ImportReport:
        changed = self.repository.update_changed(
            [(dwelling_id, *values) for _, dwelling_id, values, _ in self.updates],
            self.importer.actor,
            action="dwelling.import_updated",
        )
        for number, dwelling_id, values, reasons in self.updates:
            outcome = "updated" if dwelling_id in changed else "unchanged"
            self.outcomes[number] = RowOutcome(number, values[0], outcome, dwelling_id, reasons)
        report = ImportReport(total_rows=total_rows, dry_run=dry_run)
        for number in sorted(self.outcomes):
            row_outcome = self.outcomes[number]
            report.count(row_outcome)
            if row_outcome.outcome == "rejected" or len(report.rows) < REPORTED_ROWS_MAX:
                report.rows.append(row_outcome)
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
                    "inserted_dwelling_ids": [str(i) for i in self.inserted],
                },
            )
        return report


def _update_problem(
    importer: Importer, row: PreparedRow, found: ExistingDwelling | None
) -> str | None:
    if found is None:
        return None
    if found.status not in {DwellingStatus.APPLIED.value, DwellingStatus.REGISTERED.value}:
        return (
            f"registration_number: dwelling {row.registration_number!r} is {found.status}; "
            "file a new application instead"
        )
    if importer.kind is OrganisationKind.SUPPORT_CORPORATION:
        if found.applicant_id != importer.organisation_id:
            return "registration_number: this number belongs to another applicant's dwelling"
        if found.status == DwellingStatus.REGISTERED.value and not row.compliant:
            broken = "; ".join(v["message_en"] for v in row.violations)
            return f"the change would break the standards of a registered dwelling: {broken}"
    return None


# --- export ---------------------------------------------------------------------------------


def export_rows(
    session: Session, filters: DwellingFilters
) -> tuple[list[dict[str, Any]], list[str]]:
    """The flat rows of a jurisdiction's dwellings, in registration-number order."""
    authorities: dict[uuid.UUID, str | None] = {}
    organisations = OrganisationRepository(session)
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for dwelling in DwellingRepository(session).for_export(filters):
        if dwelling.authority_id not in authorities:
            organisation = organisations.get(dwelling.authority_id)
            authorities[dwelling.authority_id] = organisation.slug if organisation else None
        rows.append(
            bulk_format.flat_row(
                dwelling_input(dwelling),
                authority_slug=authorities[dwelling.authority_id],
                status=dwelling.status,
                registered_on=(
                    dwelling.registered_on.isoformat() if dwelling.registered_on else None
                ),
            )
        )
        ids.append(str(dwelling.id))
    return rows, ids
