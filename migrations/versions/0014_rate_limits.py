"""Rate limits: counters of failed authentications and of expensive requests.

One row per limited thing (a client address, a key prefix, an organisation's operation) and
its current fixed window. UNLOGGED: written on every counted request, worthless after a crash.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_limit_counters")),
        prefixes=["UNLOGGED"],
    )
    op.create_index(
        op.f("ix_rate_limit_counters_expires_at"), "rate_limit_counters", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
