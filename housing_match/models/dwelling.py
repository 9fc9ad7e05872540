from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geography, WKBElement
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey
from housing_match.registry.accessibility import WHEELCHAIR_CLAIM_CHECK

FACILITY_VALUES = "('in_unit', 'shared', 'none')"


class Dwelling(UUIDPrimaryKey, Timestamps, Base):
    """One safety-net dwelling unit (登録はセーフティネット住宅 1戸から)."""

    __tablename__ = "dwellings"
    __table_args__ = (
        UniqueConstraint("authority_id", "registration_number", name="authority_registration"),
        CheckConstraint(
            "status IN ('applied', 'registered', 'rejected', 'deregistered')", name="status"
        ),
        CheckConstraint("registration_class IN ('registered', 'exclusive')", name="class"),
        CheckConstraint("kind IN ('ordinary', 'shared_house')", name="kind"),
        CheckConstraint("municipality_code ~ '^\\d{6}$'", name="municipality_code_format"),
        CheckConstraint(
            "seismic_evidence IN ('none', 'diagnosis', 'retrofit', 'planned')", name="seismic"
        ),
        CheckConstraint(f"kitchen IN {FACILITY_VALUES}", name="kitchen"),
        CheckConstraint(f"toilet IN {FACILITY_VALUES}", name="toilet"),
        CheckConstraint(f"storage IN {FACILITY_VALUES}", name="storage"),
        CheckConstraint(f"bath IN {FACILITY_VALUES}", name="bath"),
        CheckConstraint(f"washbasin IN {FACILITY_VALUES}", name="washbasin"),
        # registry/accessibility.py: a wheelchair claim needs a step-free route.
        CheckConstraint(WHEELCHAIR_CLAIM_CHECK, name="wheelchair_step_free_route"),
        CheckConstraint("floor_area_m2 > 0", name="floor_area_positive"),
        CheckConstraint(
            "rent_yen >= 0 AND common_fee_yen >= 0 AND deposit_yen >= 0 AND key_money_yen >= 0",
            name="money_non_negative",
        ),
        CheckConstraint(
            "(kind = 'shared_house') = (shared_house IS NOT NULL)", name="shared_house_details"
        ),
        CheckConstraint(
            "required_whole_tenancy_risks <@ required_risks", name="whole_tenancy_risks_required"
        ),
        # A prefecture's dwellings are a range of this index too (registry.repository
        # .in_prefectures): migration 0008 dropped the index on (prefecture_code, status).
        # Ending with the id, it gives a search's pages in their order (migration 0016).
        Index("ix_dwellings_municipality_status_id", "municipality_code", "status", "id"),
    )

    authority_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    # Not indexed: no query filters by applicant (migration 0007).
    applicant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    registration_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="applied")
    status_reason: Mapped[str | None] = mapped_column(Text)
    registered_on: Mapped[date | None] = mapped_column(Date)

    registration_class: Mapped[str] = mapped_column(String(16))
    exclusive_target_categories: Mapped[list[str]] = mapped_column(
        ARRAY(String(48)), default=list, server_default="{}"
    )
    # 居住サポート住宅 (居住安定援助賃貸住宅): certified by a municipality, support by a provider.
    support_certifying_code: Mapped[str | None] = mapped_column(String(6))
    support_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    support_daily_safety_check: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    support_monthly_visit: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    support_connections: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )

    kind: Mapped[str] = mapped_column(String(16))
    shared_house: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    shared_house_capacity: Mapped[int | None] = mapped_column(Integer)

    address: Mapped[str] = mapped_column(Text)
    municipality_code: Mapped[str] = mapped_column(String(6))
    prefecture_code: Mapped[str] = mapped_column(
        String(2), Computed("substr(municipality_code, 1, 2)", persisted=True)
    )
    location: Mapped[WKBElement] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=True)
    )

    floor_area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    floor: Mapped[int] = mapped_column(Integer, default=1)
    floors_total: Mapped[int] = mapped_column(Integer, default=1)
    has_elevator: Mapped[bool] = mapped_column(Boolean, default=False)
    step_free_entrance: Mapped[bool] = mapped_column(Boolean, default=False)
    wheelchair_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    kitchen: Mapped[str] = mapped_column(String(8))
    toilet: Mapped[str] = mapped_column(String(8))
    storage: Mapped[str] = mapped_column(String(8))
    bath: Mapped[str] = mapped_column(String(8))
    washbasin: Mapped[str] = mapped_column(String(8))  # 洗面設備 (migration 0010)

    construction_started_on: Mapped[date | None] = mapped_column(Date)
    is_existing_building: Mapped[bool] = mapped_column(Boolean)
    seismic_evidence: Mapped[str] = mapped_column(String(12), default="none")

    rent_yen: Mapped[int] = mapped_column(Integer)
    common_fee_yen: Mapped[int] = mapped_column(Integer, default=0)
    deposit_yen: Mapped[int] = mapped_column(Integer, default=0)
    key_money_yen: Mapped[int] = mapped_column(Integer, default=0)

    accepts_all_categories: Mapped[bool] = mapped_column(Boolean, default=True)
    accepted_categories: Mapped[list[str]] = mapped_column(
        ARRAY(String(48)), default=list, server_default="{}"
    )
    # The landlord's conditions: risks someone must cover, and those needed for the whole tenancy.
    required_risks: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    required_whole_tenancy_risks: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    pets_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    smoking_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")

    standards_compliant: Mapped[bool | None] = mapped_column(Boolean)
    standards_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    standards_violations: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
