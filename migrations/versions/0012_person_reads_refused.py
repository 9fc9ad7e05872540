"""Person reads: mark the refused attempts of other organisations.

Another center asking for a person gets 404, as if the person did not exist; the attempt is
still written to ``person_reads`` so that the owning center sees it in the person's read log.
``refused`` tells those rows from the reads that returned data. Existing rows were all reads.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "person_reads",
        sa.Column("refused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("person_reads", "refused")
