"""Registry: dwellings, vacancies and registration-standard profiles (national ones seeded).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:56:08.516890
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dwellings",
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("registration_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("registration_class", sa.String(length=16), nullable=False),
        sa.Column(
            "exclusive_target_categories",
            postgresql.ARRAY(sa.String(length=48)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("support_certifying_code", sa.String(length=6), nullable=True),
        sa.Column("support_provider_id", sa.Uuid(), nullable=True),
        sa.Column(
            "support_daily_safety_check", sa.Boolean(), server_default="false", nullable=False
        ),
        sa.Column("support_monthly_visit", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "support_connections", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("shared_house", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("shared_house_capacity", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column(
            "prefecture_code",
            sa.String(length=2),
            sa.Computed("substr(municipality_code, 1, 2)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("floor_area_m2", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("floors_total", sa.Integer(), nullable=False),
        sa.Column("has_elevator", sa.Boolean(), nullable=False),
        sa.Column("step_free_entrance", sa.Boolean(), nullable=False),
        sa.Column("wheelchair_accessible", sa.Boolean(), nullable=False),
        sa.Column("kitchen", sa.String(length=8), nullable=False),
        sa.Column("toilet", sa.String(length=8), nullable=False),
        sa.Column("storage", sa.String(length=8), nullable=False),
        sa.Column("bath", sa.String(length=8), nullable=False),
        sa.Column("construction_started_on", sa.Date(), nullable=True),
        sa.Column("is_existing_building", sa.Boolean(), nullable=False),
        sa.Column("seismic_evidence", sa.String(length=12), nullable=False),
        sa.Column("rent_yen", sa.Integer(), nullable=False),
        sa.Column("common_fee_yen", sa.Integer(), nullable=False),
        sa.Column("deposit_yen", sa.Integer(), nullable=False),
        sa.Column("key_money_yen", sa.Integer(), nullable=False),
        sa.Column("accepts_all_categories", sa.Boolean(), nullable=False),
        sa.Column(
            "accepted_categories",
            postgresql.ARRAY(sa.String(length=48)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "required_risks",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "required_whole_tenancy_risks",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("pets_allowed", sa.Boolean(), nullable=False),
        sa.Column("smoking_allowed", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("standards_compliant", sa.Boolean(), nullable=True),
        sa.Column("standards_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "standards_violations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'shared_house') = (shared_house IS NOT NULL)",
            name=op.f("ck_dwellings_shared_house_details"),
        ),
        sa.CheckConstraint("bath IN ('in_unit', 'shared', 'none')", name=op.f("ck_dwellings_bath")),
        sa.CheckConstraint("kind IN ('ordinary', 'shared_house')", name=op.f("ck_dwellings_kind")),
        sa.CheckConstraint(
            "kitchen IN ('in_unit', 'shared', 'none')", name=op.f("ck_dwellings_kitchen")
        ),
        sa.CheckConstraint(
            "municipality_code ~ '^\\d{6}$'", name=op.f("ck_dwellings_municipality_code_format")
        ),
        sa.CheckConstraint(
            "registration_class IN ('registered', 'exclusive')", name=op.f("ck_dwellings_class")
        ),
        sa.CheckConstraint(
            "seismic_evidence IN ('none', 'diagnosis', 'retrofit', 'planned')",
            name=op.f("ck_dwellings_seismic"),
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'registered', 'rejected', 'deregistered')",
            name=op.f("ck_dwellings_status"),
        ),
        sa.CheckConstraint(
            "storage IN ('in_unit', 'shared', 'none')", name=op.f("ck_dwellings_storage")
        ),
        sa.CheckConstraint(
            "toilet IN ('in_unit', 'shared', 'none')", name=op.f("ck_dwellings_toilet")
        ),
        sa.CheckConstraint("floor_area_m2 > 0", name=op.f("ck_dwellings_floor_area_positive")),
        sa.CheckConstraint(
            "rent_yen >= 0 AND common_fee_yen >= 0 AND deposit_yen >= 0 AND key_money_yen >= 0",
            name=op.f("ck_dwellings_money_non_negative"),
        ),
        sa.CheckConstraint(
            "required_whole_tenancy_risks <@ required_risks",
            name=op.f("ck_dwellings_whole_tenancy_risks_required"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["organisations.id"],
            name=op.f("fk_dwellings_applicant_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["organisations.id"],
            name=op.f("fk_dwellings_authority_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["support_provider_id"],
            ["organisations.id"],
            name=op.f("fk_dwellings_support_provider_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dwellings")),
        sa.UniqueConstraint("authority_id", "registration_number", name="authority_registration"),
    )
    op.create_index(
        "idx_dwellings_location",
        "dwellings",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_dwellings_accepted_categories",
        "dwellings",
        ["accepted_categories"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(op.f("ix_dwellings_applicant_id"), "dwellings", ["applicant_id"], unique=False)
    op.create_index(
        "ix_dwellings_municipality_status",
        "dwellings",
        ["municipality_code", "status"],
        unique=False,
    )
    op.create_index(
        "ix_dwellings_prefecture_status", "dwellings", ["prefecture_code", "status"], unique=False
    )
    op.create_table(
        "standards_profiles",
        sa.Column("scope_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "scope_code ~ '^(|\\d{2}|\\d{6})$'",
            name=op.f("ck_standards_profiles_scope_code_format"),
        ),
        sa.CheckConstraint(
            "effective_until IS NULL OR effective_until > effective_from",
            name=op.f("ck_standards_profiles_period"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organisations.id"],
            name=op.f("fk_standards_profiles_owner_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards_profiles")),
        sa.UniqueConstraint("scope_code", "effective_from", name="scope_effective_from"),
    )
    op.create_table(
        "vacancies",
        sa.Column("dwelling_id", sa.Uuid(), nullable=False),
        sa.Column("corporation_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("rent_offered_yen", sa.Integer(), nullable=False),
        sa.Column("common_fee_offered_yen", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "covered_risks",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "covered_whole_tenancy_risks",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "refreshed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('open', 'held', 'let', 'withdrawn', 'expired')",
            name=op.f("ck_vacancies_status"),
        ),
        sa.CheckConstraint(
            "covered_whole_tenancy_risks <@ covered_risks",
            name=op.f("ck_vacancies_whole_tenancy_risks_covered"),
        ),
        sa.CheckConstraint("rent_offered_yen >= 0", name=op.f("ck_vacancies_rent_non_negative")),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["organisations.id"],
            name=op.f("fk_vacancies_corporation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name=op.f("fk_vacancies_dwelling_id_dwellings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancies")),
    )
    op.create_index(
        op.f("ix_vacancies_corporation_id"), "vacancies", ["corporation_id"], unique=False
    )
    op.create_index(op.f("ix_vacancies_dwelling_id"), "vacancies", ["dwelling_id"], unique=False)
    op.create_index(
        "ix_vacancies_open_expiry",
        "vacancies",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "uq_vacancies_live_dwelling",
        "vacancies",
        ["dwelling_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('open', 'held')"),
    )
    _seed_national_profiles()


# Seed 004 and the 2025 revision: existing buildings relax to 18 ㎡ / 13 ㎡ from 2025-10-01.
# Written out here, not imported, so this migration means the same thing forever.
_SHARED_HOUSE = {
    "shared_house_area_per_resident_m2": "15",
    "shared_house_area_base_m2": "10",
    "shared_house_min_room_area_m2": "9",
    "shared_house_residents_per_fixture": 5,
}
NATIONAL_PROFILES: list[dict[str, Any]] = [
    {
        "scope_code": "",
        "name": "全国基準（2017年10月〜）",
        "effective_from": "2017-10-25",
        "effective_until": "2025-10-01",
        "parameters": {
            "min_area_m2": "25",
            "min_area_with_shared_facilities_m2": "18",
            "existing_min_area_m2": "25",
            "existing_min_area_with_shared_facilities_m2": "18",
            **_SHARED_HOUSE,
        },
    },
    {
        "scope_code": "",
        "name": "全国基準（2025年10月改正〜）",
        "effective_from": "2025-10-01",
        "effective_until": None,
        "parameters": {
            "min_area_m2": "25",
            "min_area_with_shared_facilities_m2": "18",
            "existing_min_area_m2": "18",
            "existing_min_area_with_shared_facilities_m2": "13",
            **_SHARED_HOUSE,
        },
    },
]


def _seed_national_profiles() -> None:
    profiles = sa.table(
        "standards_profiles",
        sa.column("scope_code", sa.String),
        sa.column("name", sa.Text),
        sa.column("effective_from", sa.Date),
        sa.column("effective_until", sa.Date),
        sa.column("parameters", postgresql.JSONB),
    )
    op.bulk_insert(
        profiles,
        [
            {
                **profile,
                "effective_from": date.fromisoformat(str(profile["effective_from"])),
                "effective_until": (
                    None
                    if profile["effective_until"] is None
                    else date.fromisoformat(str(profile["effective_until"]))
                ),
            }
            for profile in NATIONAL_PROFILES
        ],
    )


def downgrade() -> None:
    op.drop_index(
        "uq_vacancies_live_dwelling",
        table_name="vacancies",
        postgresql_where=sa.text("status IN ('open', 'held')"),
    )
    op.drop_index(
        "ix_vacancies_open_expiry",
        table_name="vacancies",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_vacancies_dwelling_id"), table_name="vacancies")
    op.drop_index(op.f("ix_vacancies_corporation_id"), table_name="vacancies")
    op.drop_table("vacancies")
    op.drop_table("standards_profiles")
    op.drop_index("ix_dwellings_prefecture_status", table_name="dwellings")
    op.drop_index("ix_dwellings_municipality_status", table_name="dwellings")
    op.drop_index(op.f("ix_dwellings_applicant_id"), table_name="dwellings")
    op.drop_index(
        "ix_dwellings_accepted_categories", table_name="dwellings", postgresql_using="gin"
    )
    op.drop_index(
        "idx_dwellings_location",
        table_name="dwellings",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_table("dwellings")
