"""History: compress the before and after documents with lz4 rather than pglz.

A bulk import records the ids of every dwelling it inserted in one history row (3.7 MB of JSON
for 100,000 rows), written after the last row, while no worker has anything left to do. Storing
that document took 124–134 ms with pglz and 48–50 ms with lz4, about as small (2.24 and 2.35 MB).
Only new values are affected. A server built without lz4 keeps pglz.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LZ4_AVAILABLE = sa.text(
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def _set_compression(method: str) -> None:
    op.execute(
        f"ALTER TABLE history ALTER COLUMN before SET COMPRESSION {method}, "
        f"ALTER COLUMN after SET COMPRESSION {method}"
    )


def upgrade() -> None:
    if op.get_bind().execute(_LZ4_AVAILABLE).scalar():
        _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
