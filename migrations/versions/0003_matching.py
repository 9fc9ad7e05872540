"""Matching: person profiles, the read log, the match query log, and the matcher's listings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:12:41.208113
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported, so this migration means the same thing forever.
COVERER_KINDS = (
    "center",
    "corporation",
    "guarantee_company",
    "welfare_proxy_payment",
    "welfare_service",
    "guardian",
    "relative",
    "self",
    "other",
)


def _timestamps() -> list[sa.Column[object]]:
    return [
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
    ]


# The matcher's covering table, kept by triggers: a dwelling's rows are rebuilt whenever it or
# one of its vacancies changes. The certification terms mirror matching/rules.py.
REFRESH_LISTINGS = """
CREATE FUNCTION match_listings_refresh(target uuid) RETURNS void LANGUAGE sql AS $$
    DELETE FROM match_listings WHERE dwelling_id = target;
    INSERT INTO match_listings (
        vacancy_id, dwelling_id, corporation_id, expires_at, refreshed_at, available_from,
        monthly_cost_yen, municipality_code, location, kind, private_area_m2, floor,
        has_elevator, step_free_entrance, wheelchair_accessible, kitchen, toilet, storage, bath,
        pets_allowed, smoking_allowed, accepts_all_categories, accepted_categories,
        registration_class, exclusive_target_categories, required_risks,
        required_whole_tenancy_risks, covered_risks, covered_whole_tenancy_risks,
        residential_support
    )
    SELECT
        v.id, d.id, v.corporation_id, v.expires_at, v.refreshed_at, v.available_from,
        v.rent_offered_yen + v.common_fee_offered_yen, d.municipality_code, d.location, d.kind,
        CASE
            WHEN d.kind = 'shared_house' THEN coalesce(
                (SELECT min(room::numeric)
                 FROM jsonb_array_elements_text(d.shared_house -> 'room_areas_m2') AS room),
                d.floor_area_m2)
            ELSE d.floor_area_m2
        END,
        d.floor, d.has_elevator, d.step_free_entrance, d.wheelchair_accessible, d.kitchen,
        d.toilet, d.storage, d.bath, d.pets_allowed, d.smoking_allowed,
        d.accepts_all_categories, d.accepted_categories, d.registration_class,
        d.exclusive_target_categories, d.required_risks, d.required_whole_tenancy_risks,
        v.covered_risks || certified.risks,
        v.covered_whole_tenancy_risks || certified.risks,
        d.support_certifying_code IS NOT NULL
    FROM vacancies v
    JOIN dwellings d ON d.id = v.dwelling_id
    -- 居住サポート住宅 duties last as long as the certification: the whole tenancy.
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN d.support_certifying_code IS NULL THEN '{}'::varchar(32)[]
            ELSE array_remove(ARRAY[
                CASE WHEN d.support_daily_safety_check OR d.support_monthly_visit
                     THEN 'watch_over' END,
                CASE WHEN cardinality(d.support_connections) > 0
                     THEN 'trouble_response' END
            ]::varchar(32)[], NULL)
        END AS risks
    ) AS certified
    WHERE v.dwelling_id = target AND v.status = 'open' AND d.status = 'registered';
$$
"""
ON_VACANCY = """
CREATE FUNCTION match_listings_on_vacancy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'open' THEN PERFORM match_listings_refresh(NEW.dwelling_id); END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM match_listings_refresh(OLD.dwelling_id);
    ELSIF OLD.status = 'open' OR NEW.status = 'open' THEN
        PERFORM match_listings_refresh(NEW.dwelling_id);
        IF NEW.dwelling_id <> OLD.dwelling_id THEN
            PERFORM match_listings_refresh(OLD.dwelling_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$
"""
ON_DWELLING = """
CREATE FUNCTION match_listings_on_dwelling() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM match_listings_refresh(NEW.id);
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("center_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("home_municipality_code", sa.CHAR(length=6), nullable=False),
        sa.Column("consent_given_on", sa.Date(), nullable=False),
        sa.Column(
            "consent_sharing",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column(
            "categories",
            postgresql.ARRAY(sa.String(length=48)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("rent_ceiling_yen", sa.Integer(), nullable=True),
        sa.Column("min_area_m2", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("wheelchair", sa.Boolean(), nullable=False),
        sa.Column("no_stairs", sa.Boolean(), nullable=False),
        sa.Column("max_floor", sa.Integer(), nullable=True),
        sa.Column(
            "required_facilities",
            postgresql.ARRAY(sa.String(length=16)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("has_pets", sa.Boolean(), nullable=False),
        sa.Column("smokes", sa.Boolean(), nullable=False),
        sa.Column("move_in_date", sa.Date(), nullable=True),
        sa.Column("high_support_needs", sa.Boolean(), nullable=False),
        sa.Column(
            "preferred_municipality_codes",
            postgresql.ARRAY(sa.String(length=6)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "home_municipality_code ~ '^\\d{6}$'", name=op.f("ck_persons_home_municipality_format")
        ),
        sa.CheckConstraint(
            "household_size BETWEEN 1 AND 10", name=op.f("ck_persons_household_size_range")
        ),
        sa.CheckConstraint(
            "rent_ceiling_yen IS NULL OR rent_ceiling_yen >= 0",
            name=op.f("ck_persons_rent_ceiling_non_negative"),
        ),
        sa.CheckConstraint(
            "max_floor IS NULL OR max_floor >= 1", name=op.f("ck_persons_max_floor_positive")
        ),
        sa.ForeignKeyConstraint(
            ["center_id"],
            ["organisations.id"],
            name=op.f("fk_persons_center_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("center_id", "reference", name="center_reference"),
    )
    op.create_index(op.f("ix_persons_center_id"), "persons", ["center_id"], unique=False)

    op.create_table(
        "person_places",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "area",
            Geography(
                geometry_type="GEOMETRY",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('anchor', 'preferred_area', 'exclusion_zone')",
            name=op.f("ck_person_places_role"),
        ),
        sa.CheckConstraint(
            "radius_m IS NULL OR radius_m > 0", name=op.f("ck_person_places_radius_positive")
        ),
        sa.CheckConstraint(
            "role <> 'anchor' OR (kind IS NOT NULL AND radius_m IS NOT NULL)",
            name=op.f("ck_person_places_anchor_details"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_person_places_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_places")),
    )
    op.create_index(
        op.f("ix_person_places_person_id"), "person_places", ["person_id"], unique=False
    )

    op.create_table(
        "support_plan_entries",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("risk_kind", sa.String(length=32), nullable=False),
        sa.Column("coverer_kind", sa.String(length=32), nullable=False),
        sa.Column("coverer_name", sa.Text(), server_default="", nullable=False),
        sa.Column("coverer_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "coverer_kind IN (" + ", ".join(f"'{kind}'" for kind in COVERER_KINDS) + ")",
            name=op.f("ck_support_plan_entries_coverer_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["coverer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_support_plan_entries_coverer_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_support_plan_entries_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_plan_entries")),
    )
    op.create_index(
        op.f("ix_support_plan_entries_person_id"),
        "support_plan_entries",
        ["person_id"],
        unique=False,
    )

    op.create_table(
        "person_reads",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column(
            "read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_person_reads_api_key_id_api_keys"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_person_reads_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_reads")),
    )
    op.create_index(
        op.f("ix_person_reads_organisation_id"), "person_reads", ["organisation_id"], unique=False
    )
    op.create_index(
        "ix_person_reads_person_read_at", "person_reads", ["person_id", "read_at"], unique=False
    )
    # Evidence of who looked at whom: like the history, the database refuses to rewrite it.
    op.execute(
        """
        CREATE FUNCTION person_reads_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'person_reads is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER person_reads_append_only BEFORE UPDATE OR DELETE ON person_reads "
        "FOR EACH ROW EXECUTE FUNCTION person_reads_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER person_reads_no_truncate BEFORE TRUNCATE ON person_reads "
        "FOR EACH STATEMENT EXECUTE FUNCTION person_reads_is_append_only()"
    )

    op.create_table(
        "match_queries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("center_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.CHAR(length=6), nullable=False),
        sa.Column(
            "queried_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("excluded_by", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("top_constraint", sa.Text(), nullable=True),
        sa.Column("relaxed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["center_id"],
            ["organisations.id"],
            name=op.f("fk_match_queries_center_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_queries")),
    )
    op.create_index(
        "ix_match_queries_center_queried_at",
        "match_queries",
        ["center_id", "queried_at"],
        unique=False,
    )
    op.create_index(
        "ix_match_queries_municipality_queried_at",
        "match_queries",
        ["municipality_code", "queried_at"],
        unique=False,
    )

    _create_match_listings()


def _create_match_listings() -> None:
    op.create_table(
        "match_listings",
        sa.Column("vacancy_id", sa.Uuid(), nullable=False),
        sa.Column("dwelling_id", sa.Uuid(), nullable=False),
        sa.Column("corporation_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("monthly_cost_yen", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
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
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("private_area_m2", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("has_elevator", sa.Boolean(), nullable=False),
        sa.Column("step_free_entrance", sa.Boolean(), nullable=False),
        sa.Column("wheelchair_accessible", sa.Boolean(), nullable=False),
        sa.Column("kitchen", sa.String(length=8), nullable=False),
        sa.Column("toilet", sa.String(length=8), nullable=False),
        sa.Column("storage", sa.String(length=8), nullable=False),
        sa.Column("bath", sa.String(length=8), nullable=False),
        sa.Column("pets_allowed", sa.Boolean(), nullable=False),
        sa.Column("smoking_allowed", sa.Boolean(), nullable=False),
        sa.Column("accepts_all_categories", sa.Boolean(), nullable=False),
        sa.Column("accepted_categories", postgresql.ARRAY(sa.String(length=48)), nullable=False),
        sa.Column("registration_class", sa.String(length=16), nullable=False),
        sa.Column(
            "exclusive_target_categories", postgresql.ARRAY(sa.String(length=48)), nullable=False
        ),
        sa.Column("required_risks", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column(
            "required_whole_tenancy_risks", postgresql.ARRAY(sa.String(length=32)), nullable=False
        ),
        sa.Column("covered_risks", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column(
            "covered_whole_tenancy_risks", postgresql.ARRAY(sa.String(length=32)), nullable=False
        ),
        sa.Column("residential_support", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name=op.f("fk_match_listings_dwelling_id_dwellings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_match_listings_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vacancy_id", name=op.f("pk_match_listings")),
    )
    op.create_index(
        "idx_match_listings_location",
        "match_listings",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_match_listings_dwelling_id"), "match_listings", ["dwelling_id"], unique=False
    )
    op.create_index(
        "ix_match_listings_municipality_code",
        "match_listings",
        ["municipality_code"],
        unique=False,
    )
    op.execute(REFRESH_LISTINGS)
    op.execute(ON_VACANCY)
    op.execute(ON_DWELLING)
    op.execute(
        "CREATE TRIGGER match_listings_vacancy AFTER INSERT OR UPDATE OR DELETE ON vacancies "
        "FOR EACH ROW EXECUTE FUNCTION match_listings_on_vacancy()"
    )
    op.execute(
        "CREATE TRIGGER match_listings_dwelling AFTER UPDATE ON dwellings "
        "FOR EACH ROW EXECUTE FUNCTION match_listings_on_dwelling()"
    )
    # Vacancies posted before this migration.
    op.execute(
        "SELECT match_listings_refresh(dwelling_id) FROM "
        "(SELECT DISTINCT dwelling_id FROM vacancies WHERE status = 'open') AS live"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER match_listings_dwelling ON dwellings")
    op.execute("DROP TRIGGER match_listings_vacancy ON vacancies")
    op.execute("DROP FUNCTION match_listings_on_dwelling()")
    op.execute("DROP FUNCTION match_listings_on_vacancy()")
    op.execute("DROP FUNCTION match_listings_refresh(uuid)")
    op.drop_index("ix_match_listings_municipality_code", table_name="match_listings")
    op.drop_index(op.f("ix_match_listings_dwelling_id"), table_name="match_listings")
    op.drop_index(
        "idx_match_listings_location", table_name="match_listings", postgresql_using="gist"
    )
    op.drop_table("match_listings")
    op.drop_index("ix_match_queries_municipality_queried_at", table_name="match_queries")
    op.drop_index("ix_match_queries_center_queried_at", table_name="match_queries")
    op.drop_table("match_queries")
    op.drop_index("ix_person_reads_person_read_at", table_name="person_reads")
    op.drop_index(op.f("ix_person_reads_organisation_id"), table_name="person_reads")
    op.drop_table("person_reads")
    op.execute("DROP FUNCTION person_reads_is_append_only()")
    op.drop_index(op.f("ix_support_plan_entries_person_id"), table_name="support_plan_entries")
    op.drop_table("support_plan_entries")
    op.drop_index(op.f("ix_person_places_person_id"), table_name="person_places")
    op.drop_table("person_places")
    op.drop_index(op.f("ix_persons_center_id"), table_name="persons")
    op.drop_table("persons")
