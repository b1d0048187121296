"""scheduler, accounts, test mode and shared budgets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 13:50:16.622162
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_time", ["key", "attempted_at"], unique=False)

    op.create_table(
        "rate_budgets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("minute_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minute_used", sa.Integer(), nullable=False),
        sa.Column("day_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("day_used", sa.Integer(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.Column("parked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.String(length=20), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_budgets")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_invitations_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"], name=op.f("fk_invitations_invited_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitations_firm_id"), ["firm_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_policy_id_policies"), "policies", ["policy_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_run_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("parked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_organisations_next_run_at"), ["next_run_at"], unique=False)

    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("switched_on_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("switched_on_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_policies_switched_on_by_id_users"),
            "users",
            ["switched_on_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Policies that were already in use stay switched on: test mode is for new and changed ones.
    op.execute("UPDATE policies SET switched_on_at = updated_at WHERE active")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=100), server_default="system", nullable=False))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("created_by")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_policies_switched_on_by_id_users"), type_="foreignkey")
        batch_op.drop_column("switched_on_by_id")
        batch_op.drop_column("switched_on_at")

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_next_run_at"))
        batch_op.drop_column("parked_until")
        batch_op.drop_column("last_run_on")
        batch_op.drop_column("next_run_at")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_policy_id_policies"), type_="foreignkey")
        batch_op.drop_column("policy_id")

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_firm_id"))

    op.drop_table("invitations")
    op.drop_table("rate_budgets")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_time")

    op.drop_table("login_attempts")
