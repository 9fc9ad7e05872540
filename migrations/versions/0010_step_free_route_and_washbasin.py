"""Registry: a wheelchair claim needs a step-free route, and every dwelling states its washbasin.

Step-free route. A dwelling may claim wheelchair access (車いす対応) only with a step-free
entrance and either the ground floor (1階) or a lift; a check constraint now holds that. A
stored dwelling that claims it while its own data shows a step at the entrance, or an upper
floor or a basement without a lift, loses the claim: its entrance, floor and lift are what the
municipality registered and what a visit can confirm, the claim is the one value that
contradicts them, and leaving it would send a wheelchair user to a door they cannot pass.
Each such change is written to the history (channel ``migration``, action
``dwelling.wheelchair_claim_withdrawn``) with the values that contradicted the claim, so the
registering municipality can see which homes changed and restore the claim by amending the
entrance, floor or lift where those were the wrong values.

Washbasin (洗面設備). An ordinary dwelling must have its toilet and washbasin in the unit;
only a shared house shares them. The washbasin was never recorded, so each row gets the best
estimate there is, and no row's stored standards result is touched:

- a shared house: ``shared`` (or ``none`` when its details count no washbasin), as its
  washbasins are counted in those details;
- an ordinary dwelling: the provision of its toilet, beside which a washbasin is almost
  always found (in the unit with an in-unit toilet; in the shared washroom of an older
  building with a shared toilet).

So nothing that passed the standards passes or fails differently because of the estimate
alone. The ordinary dwellings that now fail are those with a shared (or no) toilet, which the
standards engine used to accept; they keep ``standards_compliant`` as checked at the time,
so the registrations audit (which re-checks under today's rules) lists each of them as newly
non-compliant under ``facility.toilet_in_unit`` (and ``facility.washbasin_in_unit``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported, so this migration means the same thing forever.
STEP_FREE_ROUTE = "step_free_entrance AND (floor = 1 OR has_elevator)"
WHEELCHAIR_CLAIM_CHECK = f"NOT wheelchair_accessible OR ({STEP_FREE_ROUTE})"

# The dwelling trigger rebuilds match_listings rows, so the withdrawn claims reach the matcher.
WITHDRAW_CLAIMS = f"""
WITH withdrawn AS (
    UPDATE dwellings SET wheelchair_accessible = false, updated_at = now()
    WHERE wheelchair_accessible AND NOT ({STEP_FREE_ROUTE})
    RETURNING id, step_free_entrance, floor, has_elevator
)
INSERT INTO history (channel, action, entity_type, entity_id, before, after)
SELECT
    'migration', 'dwelling.wheelchair_claim_withdrawn', 'dwelling', id::text,
    jsonb_build_object(
        'wheelchair_accessible', true, 'step_free_entrance', step_free_entrance,
        'floor', floor, 'has_elevator', has_elevator
    ),
    jsonb_build_object(
        'wheelchair_accessible', false,
        'reason', 'no step-free route: a step at the entrance, or no lift above or below 1階'
    )
FROM withdrawn
"""  # noqa: S608  # constant text, no input
ESTIMATE_WASHBASINS = """
UPDATE dwellings SET washbasin = CASE
    WHEN kind = 'shared_house' THEN
        CASE WHEN coalesce((shared_house ->> 'washbasins')::int, 0) > 0 THEN 'shared'
             ELSE 'none' END
    ELSE toilet
END
"""
FACILITY_VALUES = "('in_unit', 'shared', 'none')"


def upgrade() -> None:
    op.execute(WITHDRAW_CLAIMS)
    op.create_check_constraint(
        op.f("ck_dwellings_wheelchair_step_free_route"), "dwellings", WHEELCHAIR_CLAIM_CHECK
    )

    op.add_column("dwellings", sa.Column("washbasin", sa.String(length=8), nullable=True))
    # match_listings carries no washbasin: rebuilding every dwelling's listings for it would
    # be work with no effect, so the trigger rests while the column is filled.
    op.execute("ALTER TABLE dwellings DISABLE TRIGGER match_listings_dwelling")
    op.execute(ESTIMATE_WASHBASINS)
    op.execute("ALTER TABLE dwellings ENABLE TRIGGER match_listings_dwelling")
    op.alter_column("dwellings", "washbasin", nullable=False)
    op.create_check_constraint(
        op.f("ck_dwellings_washbasin"), "dwellings", f"washbasin IN {FACILITY_VALUES}"
    )


def downgrade() -> None:
    # The withdrawn claims stay withdrawn: the history holds what each was.
    op.drop_constraint(op.f("ck_dwellings_washbasin"), "dwellings", type_="check")
    op.drop_column("dwellings", "washbasin")
    op.drop_constraint(op.f("ck_dwellings_wheelchair_step_free_route"), "dwellings", type_="check")
