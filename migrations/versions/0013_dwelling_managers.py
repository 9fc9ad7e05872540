"""Registry: which support corporations manage each dwelling.

Only a corporation managing a dwelling (管理する居住支援法人) may post, refresh, change or
withdraw its vacancies; before this, any corporation could post on any registered dwelling
and so receive referrals, with the consented personal data of the people referred, for a
home it has nothing to do with. The tie is set by the applicant at application and changed
by the registering municipality or by a managing corporation.

Existing dwellings get, as their managers:

- the applicant, when the applicant is a support corporation (it applied for the dwelling);
- otherwise every support corporation that has posted a vacancy on it (a dwelling applied
  for by a municipality was registered directly; those who posted its vacancies are the only
  trace of who manages it).

A dwelling with neither has no manager; its municipality names one before vacancies can be
posted. Each backfilled dwelling gets a history row (channel ``migration``, action
``dwelling.managers_changed``) with the managers and the rule that chose them, so the
municipality can review a tie the vacancies alone suggested and correct it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported, so this migration means the same thing forever.
BACKFILL_MANAGERS = """
WITH by_applicant AS (
    SELECT d.id AS dwelling_id, d.applicant_id AS corporation_id, 'applicant' AS basis
    FROM dwellings AS d
    JOIN organisations AS o ON o.id = d.applicant_id
    WHERE o.kind = 'support_corporation'
), by_vacancies AS (
    SELECT DISTINCT v.dwelling_id, v.corporation_id, 'vacancies' AS basis
    FROM vacancies AS v
    JOIN organisations AS o ON o.id = v.corporation_id
    WHERE o.kind = 'support_corporation'
      AND NOT EXISTS (SELECT 1 FROM by_applicant AS a WHERE a.dwelling_id = v.dwelling_id)
), chosen AS (
    SELECT * FROM by_applicant
    UNION ALL
    SELECT * FROM by_vacancies
), inserted AS (
    INSERT INTO dwelling_managers (dwelling_id, corporation_id)
    SELECT dwelling_id, corporation_id FROM chosen
    RETURNING dwelling_id, corporation_id
)
INSERT INTO history (channel, action, entity_type, entity_id, before, after)
SELECT
    'migration', 'dwelling.managers_changed', 'dwelling', c.dwelling_id::text, NULL,
    jsonb_build_object(
        'managing_corporation_ids', jsonb_agg(c.corporation_id::text ORDER BY c.corporation_id),
        'backfilled_from', min(c.basis)
    )
FROM chosen AS c
JOIN inserted AS i USING (dwelling_id, corporation_id)
GROUP BY c.dwelling_id
"""


def upgrade() -> None:
    op.create_table(
        "dwelling_managers",
        sa.Column("dwelling_id", sa.Uuid(), nullable=False),
        sa.Column("corporation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name=op.f("fk_dwelling_managers_dwelling_id_dwellings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["organisations.id"],
            name=op.f("fk_dwelling_managers_corporation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("dwelling_id", "corporation_id", name=op.f("pk_dwelling_managers")),
    )
    op.execute(BACKFILL_MANAGERS)


def downgrade() -> None:
    # The history keeps who managed what.
    op.drop_table("dwelling_managers")
