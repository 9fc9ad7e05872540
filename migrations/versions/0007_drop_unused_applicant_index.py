"""Registry: drop the btree index on dwellings.applicant_id, which no query uses.

No read filters dwellings by applicant (a corporation's rights on a dwelling are checked on the
dwelling it names), and organisations are never deleted, so the index only served the
ON DELETE RESTRICT check of a delete that does not exist, while every insert paid for it
(about 2 µs a row of a bulk import, the database being the import's critical path).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dwellings_applicant_id", table_name="dwellings")


def downgrade() -> None:
    op.create_index("ix_dwellings_applicant_id", "dwellings", ["applicant_id"], unique=False)
