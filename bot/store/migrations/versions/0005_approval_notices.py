"""approvals: notices delivered after each change, one open request per subject, escalation
time, where a card landed, and the ledger of budget increases; outbox ids never reused

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite reuses the largest rowid once it is deleted (pruned); AUTOINCREMENT never does.
        with op.batch_alter_table(
            "outbox_message", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    with op.batch_alter_table("approval_request") as batch:
        batch.add_column(sa.Column("escalate_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("open_key", _text(255), nullable=True))
        batch.add_column(sa.Column("notice_lease_until", sa.Float(), nullable=True))
        batch.create_unique_constraint("uq_approval_request_open_key", ["open_key"])
    with op.batch_alter_table("approval_copy") as batch:
        batch.add_column(sa.Column("posted_channel", _text(64), nullable=True))
    op.create_table(
        "approval_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_notice_unsent", "approval_notice", ["sent_at", "request_id"])
    op.create_table(
        "budget_increase",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team", _text(64), nullable=False),
        sa.Column("amount", _text(32), nullable=False),
        sa.Column("currency", _text(3), nullable=False),
        sa.Column("monthly_before", _text(32), nullable=False),
        sa.Column("monthly_after", _text(32), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=False),
        sa.Column("applied_by", _text(64), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
        sa.PrimaryKeyConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("budget_increase")
    op.drop_index("ix_approval_notice_unsent", table_name="approval_notice")
    op.drop_table("approval_notice")
    with op.batch_alter_table("approval_copy") as batch:
        batch.drop_column("posted_channel")
    with op.batch_alter_table("approval_request") as batch:
        batch.drop_constraint("uq_approval_request_open_key", type_="unique")
        batch.drop_column("notice_lease_until")
        batch.drop_column("open_key")
        batch.drop_column("escalate_at")
