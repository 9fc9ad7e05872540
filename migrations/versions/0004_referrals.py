"""Referrals: holds, the referral timeline, the outbox, webhook endpoints and deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:02:17.404913
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported, so this migration means the same thing forever.
STATES = ("requested", "accepted", "contracted", "declined", "withdrawn")
DECLINE_REASONS = (
    "landlord_refused_category",
    "risk_not_covered",
    "rent_not_affordable",
    "unit_let_to_someone_else",
    "unit_unavailable",
    "support_capacity",
    "person_unreachable",
    "person_declined",
    "needs_not_met",
    "other",
)
WITHDRAW_REASONS = (
    "housed_elsewhere",
    "person_declined",
    "circumstances_changed",
    "unit_unsuitable",
    "no_response",
    "other",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


# When the center deletes a person, ON DELETE SET NULL keeps the referral as the corporation's
# record of what was shared; the center's full explanation (anchor distances and labels, the
# support plan's names…) goes with the profile.
FORGET_SNAPSHOT = """
CREATE FUNCTION referrals_forget_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.person_id IS NULL AND OLD.person_id IS NOT NULL THEN
        NEW.match_snapshot := NULL;
    END IF;
    RETURN NEW;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("center_id", sa.Uuid(), nullable=False),
        sa.Column("vacancy_id", sa.Uuid(), nullable=False),
        sa.Column("dwelling_id", sa.Uuid(), nullable=False),
        sa.Column("corporation_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holding", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("withdraw_reason", sa.String(length=40), nullable=True),
        sa.Column("closing_note", sa.Text(), server_default="", nullable=False),
        sa.Column("stalled_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "shared_fields",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("shared_profile", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("shared_explanation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("match_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(_in("state", STATES), name=op.f("ck_referrals_state")),
        sa.CheckConstraint(
            "decline_reason IS NULL OR " + _in("decline_reason", DECLINE_REASONS),
            name=op.f("ck_referrals_decline_reason"),
        ),
        sa.CheckConstraint(
            "withdraw_reason IS NULL OR " + _in("withdraw_reason", WITHDRAW_REASONS),
            name=op.f("ck_referrals_withdraw_reason"),
        ),
        sa.CheckConstraint(
            "(state = 'declined') = (decline_reason IS NOT NULL)",
            name=op.f("ck_referrals_declined_has_reason"),
        ),
        sa.CheckConstraint(
            "(state = 'withdrawn') = (withdraw_reason IS NOT NULL)",
            name=op.f("ck_referrals_withdrawn_has_reason"),
        ),
        sa.CheckConstraint(
            "NOT holding OR (state IN ('requested', 'accepted') AND hold_expires_at IS NOT NULL)",
            name=op.f("ck_referrals_holding_only_when_active"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_referrals_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["center_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_center_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["corporation_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_corporation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_referrals_vacancy_id_vacancies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["dwelling_id"],
            ["dwellings.id"],
            name=op.f("fk_referrals_dwelling_id_dwellings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_person_id"), "referrals", ["person_id"], unique=False)
    op.create_index(op.f("ix_referrals_vacancy_id"), "referrals", ["vacancy_id"], unique=False)
    op.create_index(op.f("ix_referrals_dwelling_id"), "referrals", ["dwelling_id"], unique=False)
    # At most one hold per vacancy, whatever races: the second INSERT waits for the first
    # transaction and then fails with a unique violation.
    op.create_index(
        "uq_referrals_holding_vacancy",
        "referrals",
        ["vacancy_id"],
        unique=True,
        postgresql_where=sa.text("holding"),
    )
    op.create_index(
        "ix_referrals_active_state_changed_at",
        "referrals",
        ["state_changed_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('requested', 'accepted')"),
    )
    op.create_index(
        "ix_referrals_center_requested_at",
        "referrals",
        ["center_id", "requested_at"],
        unique=False,
    )
    op.create_index(
        "ix_referrals_corporation_requested_at",
        "referrals",
        ["corporation_id", "requested_at"],
        unique=False,
    )
    op.execute(FORGET_SNAPSHOT)
    op.execute(
        "CREATE TRIGGER referrals_forget_person BEFORE UPDATE OF person_id ON referrals "
        "FOR EACH ROW EXECUTE FUNCTION referrals_forget_person()"
    )

    op.create_table(
        "referral_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=True),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("automatic", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("actor_organisation_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_events_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referral_events_actor_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["actor_api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_referral_events_actor_api_key_id_api_keys"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_events")),
    )
    op.create_index(
        "ix_referral_events_referral_id_id",
        "referral_events",
        ["referral_id", "id"],
        unique=False,
    )

    op.create_table(
        "outbox",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_outbox_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_outbox_referral_id_referrals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_organisation_id_created_at",
        "outbox",
        ["organisation_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_outbox_referral_id"), "outbox", ["referral_id"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("url ~ '^https?://'", name=op.f("ck_webhook_endpoints_url_scheme")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_webhook_endpoints_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_organisation_id"),
        "webhook_endpoints",
        ["organisation_id"],
        unique=False,
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_webhook_deliveries_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "outbox_id", name="uq_webhook_deliveries_endpoint_event"
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_outbox_id"),
        "webhook_deliveries",
        ["outbox_id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_created_at",
        "webhook_deliveries",
        ["endpoint_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint_created_at", table_name="webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_webhook_deliveries_outbox_id"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_webhook_endpoints_organisation_id"), table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index(op.f("ix_outbox_referral_id"), table_name="outbox")
    op.drop_index("ix_outbox_organisation_id_created_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_referral_events_referral_id_id", table_name="referral_events")
    op.drop_table("referral_events")
    op.execute("DROP TRIGGER referrals_forget_person ON referrals")
    op.execute("DROP FUNCTION referrals_forget_person()")
    op.drop_index("ix_referrals_corporation_requested_at", table_name="referrals")
    op.drop_index("ix_referrals_center_requested_at", table_name="referrals")
    op.drop_index(
        "ix_referrals_active_state_changed_at",
        table_name="referrals",
        postgresql_where=sa.text("state IN ('requested', 'accepted')"),
    )
    op.drop_index(
        "uq_referrals_holding_vacancy",
        table_name="referrals",
        postgresql_where=sa.text("holding"),
    )
    op.drop_index(op.f("ix_referrals_dwelling_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_vacancy_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_person_id"), table_name="referrals")
    op.drop_table("referrals")
