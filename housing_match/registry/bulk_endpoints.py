"""Bulk import and export of dwellings (CSV with Japanese headers, or GeoJSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from housing_match.auth import Principal, require_kinds
from housing_match.db import SessionDep, StreamingSessionDep
from housing_match.errors import NotPermitted, problem_responses
from housing_match.geojson import GEOJSON_MEDIA_TYPE, feature_collection_chunks
from housing_match.models import OrganisationKind
from housing_match.registry import bulk_format, bulk_service
from housing_match.registry.repository import DwellingFilters
from housing_match.registry.schemas import (
    IMPORT_OUTCOME_LABELS_JA,
    DwellingStatus,
    ImportColumnRead,
    ImportOutcome,
    ImportReportRead,
    ImportRowRead,
)
from housing_match.responses import json_response
from housing_match.schemas_common import MunicipalityCode
from housing_match.settings import get_settings
from housing_match.throttling.dependencies import RateLimited
from housing_match.throttling.limiter import Operation

router = APIRouter(tags=["registry"])

Importer = Annotated[
    Principal,
    Depends(require_kinds(OrganisationKind.MUNICIPALITY, OrganisationKind.SUPPORT_CORPORATION)),
]
Exporter = Annotated[
    Principal, Depends(require_kinds(OrganisationKind.MUNICIPALITY, OrganisationKind.ADMIN))
]
CSV_MEDIA_TYPE = "text/csv"

_IMPORT_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A CSV file (UTF-8 or Shift_JIS; header with the column keys or Japanese labels of "
            "GET /v1/dwellings/import/columns) or a GeoJSON FeatureCollection of Points with "
            "the same columns as properties."
        ),
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}},
        },
    }
}
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "CSV (UTF-8 with BOM, Japanese headers) or a GeoJSON FeatureCollection.",
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}},
        },
    }
}


@router.get(
    "/v1/dwellings/import/columns",
    response_model=list[ImportColumnRead],
    summary="The columns of the import and export file (CSV header or GeoJSON properties)",
    responses=problem_responses(401, 403),
)
def import_columns(_principal: Importer) -> list[ImportColumnRead]:
    return [
        ImportColumnRead(
            key=column.key,
            label_ja=column.label_ja,
            required=column.key in bulk_format.REQUIRED_KEYS,
            description=column.description,
        )
        for column in bulk_format.COLUMNS
    ]


@router.post(
    "/v1/dwellings/import",
    summary="Import dwellings from CSV or GeoJSON: upsert by registration number, report per row",
    description=(
        "A municipality loads its own register (rows become registered dwellings; a row that "
        "fails the standards is rejected). A support corporation files applications. Rows are "
        "upserted by (registering authority, registration number), so the same file twice "
        "changes nothing. Bad rows are reported and never stop the good ones; the file lands "
        "as a whole or not at all. `dry_run=true` reports without writing.\n\n"
        "Limits, checked before any row is prepared: the body "
        "(`HOUSING_MATCH_MAX_IMPORT_BODY_BYTES`, 64 MiB) and at most "
        "`HOUSING_MATCH_IMPORT_MAX_ROWS` rows or features (100,000 by default) get 413; a "
        "file of more than 1,000 rows averaging under 96 bytes a row (128 a GeoJSON "
        "feature), or JSON nested more than 16 levels deep, gets 422. A text cell that a "
        "CSV export defused for Excel (an apostrophe before `=`, `+`, `-`, `@`, …) is read "
        "back without the apostrophe."
    ),
    response_model=ImportReportRead,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=_IMPORT_BODY_DOC,
)
async def import_dwellings(
    request: Request,
    session: SessionDep,
    principal: Importer,
    _rate_limit: Annotated[None, Depends(RateLimited(Operation.IMPORT))],
    dry_run: Annotated[bool, Query(description="Validate and report; write nothing.")] = False,
) -> Response:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    filename = "upload.geojson" if "json" in content_type else None
    limits = bulk_format.ReadLimits(max_rows=get_settings().import_max_rows)

    def run() -> bulk_service.ImportReport:
        total, rows = bulk_service.read_source(raw, filename=filename, limits=limits)
        return bulk_service.import_dwellings(
            session,
            bulk_service.Importer.from_principal(principal),
            rows,
            total_rows=total,
            dry_run=dry_run,
            listed_rows=bulk_service.REPORTED_ROWS_MAX,
        )

    # The import is synchronous database work: keep it off the event loop.
    return json_response(report_read(await run_in_threadpool(run)))


_OUTCOMES = {outcome.value: outcome for outcome in ImportOutcome}


def report_read(report: bulk_service.ImportReport) -> ImportReportRead:
    # Built without validation: the values come from the import itself, already of the
    # model's types, and validating each row cost as much as all the rest of a rejected
    # row's work (a file of rejected rows is where that counts).
    construct = ImportRowRead.model_construct
    return ImportReportRead.model_construct(
        dry_run=report.dry_run,
        total_rows=report.total_rows,
        accepted=report.accepted,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        unlisted_rows=report.unlisted,
        rows=[
            construct(
                row=row.row,
                registration_number=row.registration_number,
                outcome=(outcome := _OUTCOMES[row.outcome]),
                outcome_label_ja=IMPORT_OUTCOME_LABELS_JA[outcome],
                dwelling_id=row.dwelling_id,
                reasons=row.reasons,
            )
            for row in report.rows
        ],
    )


@router.get(
    "/v1/dwellings/export",
    summary="Export a jurisdiction's dwellings as CSV (Excel-ready) or GeoJSON",
    description=(
        "A municipality exports its jurisdiction; an admin any municipality or prefecture. "
        "CSV is UTF-8 with a BOM and Japanese headers, and imports back unchanged."
    ),
    response_class=Response,
    responses={**_EXPORT_RESPONSES, **problem_responses(401, 403, 422)},
)
def export_dwellings(
    request: Request,
    session: StreamingSessionDep,
    principal: Exporter,
    _rate_limit: Annotated[None, Depends(RateLimited(Operation.EXPORT))],
    municipality_code: Annotated[
        list[MunicipalityCode] | None, Query(description="Only these municipalities.")
    ] = None,
    prefecture: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    status_: Annotated[
        list[DwellingStatus] | None, Query(alias="status", description="Default: registered.")
    ] = None,
    format_: Annotated[
        str | None,
        Query(alias="format", pattern="^(csv|geojson)$", description="Overrides Accept."),
    ] = None,
) -> Response:
    filters = DwellingFilters(
        statuses=tuple(sorted({s.value for s in status_ or [DwellingStatus.REGISTERED]})),
        municipality_codes=tuple(municipality_code or ()),
        prefecture_code=prefecture,
    )
    if principal.kind is OrganisationKind.MUNICIPALITY:
        outside = [code for code in filters.municipality_codes if not principal.governs(code)]
        if outside:
            raise NotPermitted(f"Outside your jurisdiction: {', '.join(outside)}.")
        filters.jurisdiction_codes = principal.jurisdiction_codes
    # Streamed as the rows are read (a server-side cursor), so an export of any size holds a
    # chunk in memory, never the file.
    as_geojson = format_ == "geojson" or (
        format_ is None and GEOJSON_MEDIA_TYPE in request.headers.get("accept", "")
    )
    if as_geojson:
        features = (
            bulk_format.geojson_feature(row, dwelling_id)
            for row, dwelling_id in bulk_service.iter_export_rows(session, filters)
        )
        return StreamingResponse(feature_collection_chunks(features), media_type=GEOJSON_MEDIA_TYPE)
    return StreamingResponse(
        bulk_format.csv_chunks_of_cells(bulk_service.iter_export_csv_rows(session, filters)),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dwellings.csv"'},
    )
