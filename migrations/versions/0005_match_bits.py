"""Matching: risk and category bit sets on match_listings, and its columns reordered, so the
checks a match runs on every home it considers are integer tests at fixed offsets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported, so this migration means the same thing forever; the
# positions are those of housing_match.vocabulary (a test compares the two).
RISK_KINDS = (
    "emergency_contact",
    "rent_guarantee",
    "initial_costs",
    "stable_income",
    "watch_over",
    "trouble_response",
    "money_management",
    "estate_disposal",
    "contract_support",
)
CATEGORIES = (
    "low_income",
    "disaster_victim",
    "elderly",
    "disabled",
    "child_raising",
    "foreigner",
    "dv_victim",
    "crime_victim",
    "released_from_correctional_facility",
    "needy",
    "other",
)
UNKNOWN_RISK_BIT = 1 << 30


def _array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]::text[]"


RISK_BITS = f"""
CREATE FUNCTION risk_bits(kinds varchar[]) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(bit_or(CASE WHEN p IS NULL THEN {UNKNOWN_RISK_BIT} ELSE 1 << (p - 1) END), 0)
    FROM unnest(kinds) AS kind,
         LATERAL array_position({_array(RISK_KINDS)}, kind::text) AS p
$$
"""  # noqa: S608  # the vocabulary above, not input
CATEGORY_BITS = f"""
CREATE FUNCTION category_bits(categories varchar[]) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(bit_or(1 << (p - 1)), 0)
    FROM unnest(categories) AS category,
         LATERAL array_position({_array(CATEGORIES)}, category::text) AS p
$$
"""  # noqa: S608  # the vocabulary above, not input
# (column, expression): generated from the array beside it, so the refresh function and every
# other writer of match_listings stay as they are.
BIT_COLUMNS = (
    ("accepted_category_bits", "category_bits(accepted_categories)"),
    ("exclusive_target_category_bits", "category_bits(exclusive_target_categories)"),
    ("required_risk_bits", "risk_bits(required_risks)"),
    ("required_whole_tenancy_risk_bits", "risk_bits(required_whole_tenancy_risks)"),
    ("covered_risk_bits", "risk_bits(covered_risks)"),
    ("covered_whole_tenancy_risk_bits", "risk_bits(covered_whole_tenancy_risks)"),
)
# The columns kept from revision 0004, in their new order: every fixed-width column first,
# so the matcher reads the ones it tests on every home at fixed offsets, without stepping over
# the arrays and the location of each row; those come last.
FIXED = (
    ("vacancy_id", sa.Uuid()),
    ("dwelling_id", sa.Uuid()),
    ("corporation_id", sa.Uuid()),
    ("expires_at", sa.DateTime(timezone=True)),
    ("refreshed_at", sa.DateTime(timezone=True)),
    ("available_from", sa.Date()),
    ("monthly_cost_yen", sa.Integer()),
    ("floor", sa.Integer()),
    ("has_elevator", sa.Boolean()),
    ("step_free_entrance", sa.Boolean()),
    ("wheelchair_accessible", sa.Boolean()),
    ("pets_allowed", sa.Boolean()),
    ("smoking_allowed", sa.Boolean()),
    ("accepts_all_categories", sa.Boolean()),
    ("residential_support", sa.Boolean()),
)
VARIABLE = (
    ("private_area_m2", sa.Numeric(precision=8, scale=2)),
    ("municipality_code", sa.String(length=6)),
    ("kind", sa.String(length=16)),
    ("kitchen", sa.String(length=8)),
    ("toilet", sa.String(length=8)),
    ("storage", sa.String(length=8)),
    ("bath", sa.String(length=8)),
    ("registration_class", sa.String(length=16)),
    (
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
    ),
    ("accepted_categories", postgresql.ARRAY(sa.String(length=48))),
    ("exclusive_target_categories", postgresql.ARRAY(sa.String(length=48))),
    ("required_risks", postgresql.ARRAY(sa.String(length=32))),
    ("required_whole_tenancy_risks", postgresql.ARRAY(sa.String(length=32))),
    ("covered_risks", postgresql.ARRAY(sa.String(length=32))),
    ("covered_whole_tenancy_risks", postgresql.ARRAY(sa.String(length=32))),
)
KEPT = tuple(name for name, _ in (*FIXED, *VARIABLE))
INDEXES = (
    ("idx_match_listings_location", "USING gist (location)"),
    ("ix_match_listings_dwelling_id", "(dwelling_id)"),
    ("ix_match_listings_municipality_code", "(municipality_code)"),
)


def _rebuild(columns: list[sa.Column[Any]]) -> None:
    """match_listings again with these columns, its rows, keys and indexes kept. The refresh
    function and triggers name the table and its columns, so they go on working."""
    op.create_table(
        "match_listings_rebuilt",
        *columns,
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name="fk_match_listings_rebuilt_dwelling_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name="fk_match_listings_rebuilt_vacancy_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vacancy_id", name="pk_match_listings_rebuilt"),
    )
    kept = ", ".join(KEPT)
    op.execute(
        f"INSERT INTO match_listings_rebuilt ({kept}) SELECT {kept} FROM match_listings"  # noqa: S608  # constant names
    )
    op.drop_table("match_listings")
    op.rename_table("match_listings_rebuilt", "match_listings")
    for old, new in (
        ("pk_match_listings_rebuilt", "pk_match_listings"),
        ("fk_match_listings_rebuilt_dwelling_id", "fk_match_listings_dwelling_id_dwellings"),
        ("fk_match_listings_rebuilt_vacancy_id", "fk_match_listings_vacancy_id_vacancies"),
    ):
        op.execute(f"ALTER TABLE match_listings RENAME CONSTRAINT {old} TO {new}")
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX {name} ON match_listings {definition}")


def _plain(name: str, type_: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=False)


def upgrade() -> None:
    op.execute(RISK_BITS)
    op.execute(CATEGORY_BITS)
    bits: list[sa.Column[Any]] = [
        sa.Column(name, sa.Integer(), sa.Computed(expression, persisted=True), nullable=False)
        for name, expression in BIT_COLUMNS
    ]
    fixed = [_plain(name, type_) for name, type_ in FIXED]
    variable = [_plain(name, type_) for name, type_ in VARIABLE]
    _rebuild([*fixed[:8], *bits, *fixed[8:], *variable])


def downgrade() -> None:
    # Revision 0004's order: as revision 0003 created the table.
    order = (
        "vacancy_id", "dwelling_id", "corporation_id", "expires_at", "refreshed_at",
        "available_from", "monthly_cost_yen", "municipality_code", "location", "kind",
        "private_area_m2", "floor", "has_elevator", "step_free_entrance",
        "wheelchair_accessible", "kitchen", "toilet", "storage", "bath", "pets_allowed",
        "smoking_allowed", "accepts_all_categories", "accepted_categories",
        "registration_class", "exclusive_target_categories", "required_risks",
        "required_whole_tenancy_risks", "covered_risks", "covered_whole_tenancy_risks",
        "residential_support",
    )  # fmt: skip
    types = dict((*FIXED, *VARIABLE))
    _rebuild([_plain(name, types[name]) for name in order])
    op.execute("DROP FUNCTION category_bits(varchar[])")
    op.execute("DROP FUNCTION risk_bits(varchar[])")
