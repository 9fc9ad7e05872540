"""Report exports: CSV for Excel and GeoJSON for maps, chosen by ``format`` or Accept."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import StreamingResponse

from housing_match import spreadsheet
from housing_match.audit.schemas import (
    RULE_LABELS,
    NonCompliantDwelling,
    RentOutlier,
    ReportFormat,
    StaleVacancy,
    TabularFormat,
    UnmetDemandAudit,
)
from housing_match.geojson import (
    GEOJSON_MEDIA_TYPE,
    GEOJSON_RESPONSE_DOC,
    feature,
    feature_collection_chunks,
    wants_geojson,
)
from housing_match.registry.service import today

CSV_MEDIA_TYPE = "text/csv"
JAPAN = ZoneInfo("Asia/Tokyo")


def chosen_format(
    request: Request, requested: ReportFormat | TabularFormat | None, *, places: bool = True
) -> ReportFormat:
    """``format`` wins; else the Accept header; else JSON (also for GeoJSON without places)."""
    if requested is not None:
        return ReportFormat(requested.value)
    if CSV_MEDIA_TYPE in request.headers.get("accept", ""):
        return ReportFormat.CSV
    if places and wants_geojson(request):
        return ReportFormat.GEOJSON
    return ReportFormat.JSON


def _cell(value: Any) -> Any:
    """A report value as its CSV cell: numbers as numbers, the rest as text (which
    ``spreadsheet.csv_document`` defuses where Excel would run it as a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, datetime):
        return value.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int | float | Decimal):
        return value
    return str(value)


def csv_response(
    report: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingResponse:
    """The whole list, streamed as its rows are read: an export of any size in constant
    memory (the rows come from a server-side cursor)."""
    content = spreadsheet.csv_chunks(header, ([_cell(value) for value in row] for row in rows))
    filename = f"audit-{report}-{today():%Y%m%d}.csv"
    return StreamingResponse(
        content,
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def places_geojson(items: Iterable[Any], identify: Callable[[Any], uuid.UUID]) -> StreamingResponse:
    """A report's rows as a FeatureCollection, streamed: each row's location, the rest as
    properties.

    Nested objects (a rent balance, the applied profile) are flattened into ``parent_child``
    properties, as GDAL's own option would: GIS tools read a nested object as one text field,
    whose numbers then cannot be styled or filtered. Lists (the violations) stay lists."""

    def features() -> Iterator[dict[str, Any]]:
        for item in items:
            properties: dict[str, Any] = {}
            for key, value in item.model_dump(mode="json", exclude={"location"}).items():
                if isinstance(value, dict):
                    properties.update({f"{key}_{inner}": v for inner, v in value.items()})
                else:
                    properties[key] = value
            yield feature(item.location, properties, str(identify(item)))

    return StreamingResponse(feature_collection_chunks(features()), media_type=GEOJSON_MEDIA_TYPE)


def export_responses(*, geojson: bool) -> dict[int | str, dict[str, Any]]:
    """The 200 response's other media types, for the OpenAPI spec."""
    content: dict[str, Any] = {
        CSV_MEDIA_TYPE: {
            "schema": {
                "type": "string",
                "description": (
                    "UTF-8 CSV with a BOM and Japanese headers, for Excel "
                    "(Accept: text/csv or ?format=csv). Holds the whole list, not a page."
                ),
            }
        }
    }
    if geojson:
        content[GEOJSON_MEDIA_TYPE] = GEOJSON_RESPONSE_DOC[200]["content"][GEOJSON_MEDIA_TYPE]
    return {200: {"content": content}}


# --- one table per report ------------------------------------------------------------------

_KIND_LABELS_JA = {"ordinary": "一般", "shared_house": "共同居住型"}


def _checked_label(compliant: bool | None) -> str:
    return "未判定" if compliant is None else ("適合" if compliant else "不適合")


def registrations_csv(items: Iterable[NonCompliantDwelling], as_of: date) -> StreamingResponse:
    """One row per violation, so Excel can pivot by rule or filter by dwelling."""
    header = (
        "住宅ID",
        "登録番号",
        "住所",
        "市区町村コード",
        "登録日",
        "基準項目ID",
        "基準項目",
        "違反内容",
        "測定値",
        "基準値",
        "前回判定",
        "前回判定日時",
        "適用した地域基準",
        "判定日",
    )
    rows = (
        (
            item.dwelling_id,
            item.registration_number,
            item.address,
            item.municipality_code,
            item.registered_on,
            violation.rule_id,
            # A rule the label table does not know yet is named by its violation's message.
            RULE_LABELS.get(violation.rule_id, (violation.message_ja,))[0],
            violation.message_ja,
            violation.measured,
            violation.limit,
            _checked_label(item.compliant_when_checked),
            item.standards_checked_at,
            item.profile.local_name or "全国基準のみ",
            as_of,
        )
        for item in items
        for violation in item.violations
    )
    return csv_response("registrations", header, rows)


def rent_balance_csv(items: Iterable[RentOutlier]) -> StreamingResponse:
    header = (
        "住宅ID",
        "登録番号",
        "住所",
        "市区町村コード",
        "住宅種別",
        "判定",
        "家賃(円)",
        "共益費(円)",
        "床面積(㎡)",
        "㎡あたり家賃(円)",
        "近傍同種の中央値(円/㎡)",
        "中央値との比",
        "比較対象数",
        "半径(m)",
        "倍率",
        "説明",
    )
    rows = (
        (
            item.dwelling_id,
            item.registration_number,
            item.address,
            item.municipality_code,
            _KIND_LABELS_JA.get(item.kind, item.kind),
            item.finding_label_ja,
            item.rent_yen,
            item.common_fee_yen,
            item.floor_area_m2,
            item.rent_balance.rent_per_m2_yen,
            item.rent_balance.median_rent_per_m2_yen,
            item.rent_balance.ratio_to_median,
            item.rent_balance.comparable_count,
            item.rent_balance.radius_m,
            item.rent_balance.factor,
            item.rent_balance.message_ja,
        )
        for item in items
    )
    return csv_response("rent-balance", header, rows)


def vacancies_csv(items: Iterable[StaleVacancy]) -> StreamingResponse:
    header = (
        "募集ID",
        "住宅ID",
        "登録番号",
        "住所",
        "市区町村コード",
        "居住支援法人",
        "募集状態",
        "判定",
        "最終確認日時",
        "掲載期限",
        "最終確認からの日数",
    )
    rows = (
        (
            item.vacancy_id,
            item.dwelling_id,
            item.registration_number,
            item.address,
            item.municipality_code,
            item.corporation_name,
            item.status_label_ja,
            item.finding_label_ja,
            item.refreshed_at,
            item.expires_at,
            item.days_since_refresh,
        )
        for item in items
    )
    return csv_response("vacancies", header, rows)


def unmet_demand_csv(report: UnmetDemandAudit) -> StreamingResponse:
    """Suppressed cells keep their row, with blank counts: never a number under five."""
    header = (
        "市区町村コード",
        "年月",
        "照会件数",
        "候補0件の照会",
        f"候補1〜{report.few_threshold}件の照会",
        "最も多く除外した条件",
        "条件ID",
        "秘匿",
    )
    rows = (
        (
            cell.municipality_code,
            cell.month,
            cell.queries,
            cell.zero_candidates,
            cell.few_candidates,
            cell.top_constraint_label_ja,
            cell.top_constraint,
            f"秘匿（{report.min_cell_queries}件未満）" if cell.suppressed else "",
        )
        for cell in report.cells
    )
    return csv_response("unmet-demand", header, rows)
