from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from housing_match.registry.schemas import DwellingRead
from housing_match.vocabulary import RiskKind

Yen = Annotated[int, Field(ge=0, le=10_000_000)]


class VacancyStatus(StrEnum):
    OPEN = "open"
    HELD = "held"
    LET = "let"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


VACANCY_STATUS_LABELS_JA = {
    VacancyStatus.OPEN: "募集中",
    VacancyStatus.HELD: "調整中",
    VacancyStatus.LET: "成約済",
    VacancyStatus.WITHDRAWN: "取下げ",
    VacancyStatus.EXPIRED: "期限切れ",
}


class CoveredRisk(BaseModel):
    risk_kind: RiskKind
    whole_tenancy: bool = Field(
        default=False, description="Covered for the whole tenancy (e.g. an open-ended contract)."
    )


class VacancyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dwelling_id: uuid.UUID
    available_from: date
    rent_offered_yen: Yen
    common_fee_offered_yen: Yen = 0
    conditions: Annotated[str, StringConstraints(max_length=2000)] = ""
    covered_risks: list[CoveredRisk] = Field(
        default_factory=list,
        description="Risks the posting corporation itself covers for the tenant (居住支援).",
    )

    @model_validator(mode="after")
    def _unique_risks(self) -> VacancyCreate:
        kinds = [risk.risk_kind for risk in self.covered_risks]
        if len(kinds) != len(set(kinds)):
            raise ValueError("each risk kind may be listed once")
        return self


class VacancyUpdate(BaseModel):
    """Change the status (held, open, let, withdrawn) or the offer of one's own vacancy."""

    model_config = ConfigDict(extra="forbid")

    status: VacancyStatus | None = None
    available_from: date | None = None
    rent_offered_yen: Yen | None = None
    common_fee_offered_yen: Yen | None = None
    conditions: Annotated[str, StringConstraints(max_length=2000)] | None = None
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class VacancyRead(BaseModel):
    id: uuid.UUID
    dwelling_id: uuid.UUID
    corporation_id: uuid.UUID
    status: VacancyStatus = Field(description="Expired as soon as expires_at passes.")
    status_label_ja: str
    available_from: date
    rent_offered_yen: int
    common_fee_offered_yen: int
    conditions: str
    covered_risks: list[CoveredRisk]
    refreshed_at: datetime
    expires_at: datetime
    closed_reason: str | None
    created_at: datetime
    distance_m: float | None = None
    dwelling: DwellingRead | None = None


class VacancyPage(BaseModel):
    items: list[VacancyRead]
    next_cursor: str | None
