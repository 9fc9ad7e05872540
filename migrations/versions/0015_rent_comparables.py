"""Rent balance (近傍同種) kept per dwelling, so the audit reads it instead of computing it.

``rent_comparables`` holds, for each registered dwelling, the count and the median rent per ㎡
of its comparables (registered dwellings of the same kind within the radius, itself left
out), as of the last refresh (``housing-match rent-balance refresh``). A statement-level
trigger on ``dwellings`` marks where a change could move a median: the ~0.001° grid cell of
the old and the new location of every dwelling whose status, kind, location, rent, common fee
or floor area changed. The refresh recomputes the dwellings near the marked cells only and
consumes the marks it read; a mark set again meanwhile gets a new ``mark`` number, so it
survives. Transition tables keep a COPY of 100,000 rows one trigger call, not 100,000.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The grid cell of a location is in thousandths of a degree (audit/rent_repository.py knows
# the same size).

MARK = """
CREATE FUNCTION rent_comparables_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each changed dwelling counts once (where it is now if registered, else where it was);
    -- its other location is marked with weight 0.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rent_comparables_dirty AS dirty (kind, cell_x, cell_y, changes)
        SELECT kind, floor(ST_X(location::geometry) * 1000)::int, floor(ST_Y(location::geometry) * 1000)::int, count(*)
        FROM new_rows WHERE status = 'registered'
        GROUP BY 1, 2, 3
        ON CONFLICT (kind, cell_x, cell_y) DO UPDATE
        SET changes = dirty.changes + excluded.changes, mark = excluded.mark;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO rent_comparables_dirty AS dirty (kind, cell_x, cell_y, changes)
        SELECT kind, floor(ST_X(location::geometry) * 1000)::int, floor(ST_Y(location::geometry) * 1000)::int, count(*)
        FROM old_rows WHERE status = 'registered'
        GROUP BY 1, 2, 3
        ON CONFLICT (kind, cell_x, cell_y) DO UPDATE
        SET changes = dirty.changes + excluded.changes, mark = excluded.mark;
    ELSE
        INSERT INTO rent_comparables_dirty AS dirty (kind, cell_x, cell_y, changes)
        SELECT side.kind, side.cell_x, side.cell_y, sum(side.weight)
        FROM old_rows o
        JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (
            SELECT o.kind, floor(ST_X(o.location::geometry) * 1000)::int, floor(ST_Y(o.location::geometry) * 1000)::int,
                   CASE WHEN n.status = 'registered' THEN 0 ELSE 1 END
            WHERE o.status = 'registered'
            UNION ALL
            -- Marked also when it left the register, so the refresh finds its row there.
            SELECT n.kind, floor(ST_X(n.location::geometry) * 1000)::int, floor(ST_Y(n.location::geometry) * 1000)::int,
                   CASE WHEN n.status = 'registered' THEN 1 ELSE 0 END
        ) AS side (kind, cell_x, cell_y, weight)
        WHERE (o.status = 'registered' OR n.status = 'registered')
          AND (o.status, o.kind, ST_AsBinary(o.location), o.rent_yen, o.common_fee_yen,
               o.floor_area_m2)
              IS DISTINCT FROM
              (n.status, n.kind, ST_AsBinary(n.location), n.rent_yen, n.common_fee_yen,
               n.floor_area_m2)
        GROUP BY 1, 2, 3
        ON CONFLICT (kind, cell_x, cell_y) DO UPDATE
        SET changes = dirty.changes + excluded.changes, mark = excluded.mark;
    END IF;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "rent_comparables",
        sa.Column("dwelling_id", sa.Uuid(), nullable=False),
        sa.Column("comparable_count", sa.Integer(), nullable=False),
        sa.Column("median_rent_per_m2", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name="fk_rent_comparables_dwelling_id_dwellings",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dwelling_id", name="pk_rent_comparables"),
    )
    # One row: the radius the values were computed for and when.
    op.create_table(
        "rent_comparables_state",
        sa.Column("singleton", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("singleton", name="ck_rent_comparables_state_singleton"),
        sa.PrimaryKeyConstraint("singleton", name="pk_rent_comparables_state"),
    )
    op.execute("CREATE SEQUENCE rent_comparables_mark")
    op.create_table(
        "rent_comparables_dirty",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cell_x", sa.Integer(), nullable=False),
        sa.Column("cell_y", sa.Integer(), nullable=False),
        # Dwellings changed in the cell since the last refresh that consumed it.
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column(
            "mark",
            sa.BigInteger(),
            server_default=sa.text("nextval('rent_comparables_mark')"),
            nullable=False,
        ),
        sa.Column(
            "first_marked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("kind", "cell_x", "cell_y", name="pk_rent_comparables_dirty"),
    )
    op.execute(MARK)
    for operation, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER rent_comparables_mark_{operation.lower()} AFTER {operation} "
            f"ON dwellings REFERENCING {tables} FOR EACH STATEMENT "
            "EXECUTE FUNCTION rent_comparables_mark()"
        )
    # Dwellings registered before this migration: every cell is marked, so the first refresh
    # computes them all.
    op.execute(
        "INSERT INTO rent_comparables_dirty (kind, cell_x, cell_y, changes) "
        "SELECT kind, floor(ST_X(location::geometry) * 1000)::int, floor(ST_Y(location::geometry) * 1000)::int, count(*) FROM dwellings "
        "WHERE status = 'registered' GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    for operation in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER rent_comparables_mark_{operation} ON dwellings")
    op.execute("DROP FUNCTION rent_comparables_mark()")
    op.drop_table("rent_comparables_dirty")
    op.execute("DROP SEQUENCE rent_comparables_mark")
    op.drop_table("rent_comparables_state")
    op.drop_table("rent_comparables")
