"""Registry: drop the btree index on dwellings (prefecture_code, status).

A prefecture's dwellings are a range of six-digit municipality codes ('270000' to '279999'),
which the index on (municipality_code, status) serves as well (registry.repository
.in_prefectures), so the second index only cost every insert its upkeep. Inserting 100,000
dwellings into 900,000, alternating with and without it, took a median 2.80 and 2.66 s (less
without it in each of four pairs); the database is a bulk import's critical path. The
prefecture_code column stays, for the exports and for reading.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dwellings_prefecture_status", table_name="dwellings")


def downgrade() -> None:
    op.create_index(
        "ix_dwellings_prefecture_status", "dwellings", ["prefecture_code", "status"], unique=False
    )
