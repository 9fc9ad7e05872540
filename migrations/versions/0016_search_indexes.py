"""Registry: the municipality index ends with the id, so a search's page is read in order.

Staff search a municipality's or a prefecture's dwellings a page of 50 at a time (keyset
pagination). Ordered by id alone, the index on (municipality_code, status) could not give a
page in order: PostgreSQL either read all of a prefecture's dwellings and sorted them, or
walked the primary key in id order, filtering the whole country until it had 50 rows; and
since a bulk import gives its dwellings time-ordered ids, a municipality imported late was
found only after most of the table (224,777 buffers for one page of 福岡市 at 250,000
dwellings). A search now orders by (municipality_code, id), which an index on
(municipality_code, status, id) gives directly for one municipality or a prefecture's range
of codes, status being fixed: the page stops after 50 rows. It replaces the index on
(municipality_code, status), of which it is an extension, so inserts keep one index to
maintain, not two.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 02:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_dwellings_municipality_status_id",
        "dwellings",
        ["municipality_code", "status", "id"],
        unique=False,
    )
    op.drop_index("ix_dwellings_municipality_status", table_name="dwellings")


def downgrade() -> None:
    op.create_index(
        "ix_dwellings_municipality_status",
        "dwellings",
        ["municipality_code", "status"],
        unique=False,
    )
    op.drop_index("ix_dwellings_municipality_status_id", table_name="dwellings")
