from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, Timestamps, UUIDPrimaryKey


class OrganisationKind(StrEnum):
    CENTER = "center"  # 地域生活定着支援センター
    SUPPORT_CORPORATION = "support_corporation"  # 居住支援法人
    MUNICIPALITY = "municipality"  # 都道府県・市区町村 住宅部局
    ADMIN = "admin"


ORGANISATION_KIND_LABELS_JA: dict[OrganisationKind, str] = {
    OrganisationKind.CENTER: "地域生活定着支援センター",
    OrganisationKind.SUPPORT_CORPORATION: "居住支援法人",
    OrganisationKind.MUNICIPALITY: "自治体住宅部局",
    OrganisationKind.ADMIN: "運営管理者",
}


class Organisation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('center', 'support_corporation', 'municipality', 'admin')", name="kind"
        ),
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="slug_format"),
        # 2-digit prefecture codes or 6-digit 全国地方公共団体コード.
        CheckConstraint(
            "array_to_string(jurisdiction_codes, ',') ~ '^((\\d{2}|\\d{6})(,(\\d{2}|\\d{6}))*)?$'",
            name="jurisdiction_code_format",
        ),
        CheckConstraint(
            "(kind = 'municipality') = (cardinality(jurisdiction_codes) > 0)",
            name="jurisdiction_only_for_municipalities",
        ),
        # Centers hold people's profiles and admins manage everything: always two factors.
        CheckConstraint("totp_required OR kind NOT IN ('center', 'admin')", name="totp_required"),
    )

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(6)), default=list, server_default="{}"
    )
    # Whether its users must sign in with a TOTP code as well as their password.
    totp_required: Mapped[bool] = mapped_column(default=True, server_default="true")
