"""Registry: drop the GIN index on dwellings.accepted_categories, which no query can use.

The only search on the accepted categories asks "accepts all, or accepts this one"; an OR with
an unindexed column cannot use the index, so every insert paid for it (about a tenth of a
bulk import's database time) and no read gained.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_dwellings_accepted_categories", table_name="dwellings")


def downgrade() -> None:
    op.create_index(
        "ix_dwellings_accepted_categories",
        "dwellings",
        ["accepted_categories"],
        unique=False,
        postgresql_using="gin",
    )
