"""approvals: requests, votes, posted copies and the append-only audit log

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(32), nullable=False),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("requester", _text(64), nullable=False),
        sa.Column("team", _text(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("surface", _text(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("next_reminder_at", sa.Float(), nullable=True),
        sa.Column("escalated_at", sa.Float(), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("claimed_at", sa.Float(), nullable=True),
        sa.Column("executed_at", sa.Float(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_request_state", "approval_request", ["state", "expires_at"])
    op.create_index("ix_approval_request_requester", "approval_request", ["requester"])
    op.create_table(
        "approval_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user", _text(64), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("surface", _text(32), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "user", name="uq_approval_vote_user"),
    )
    op.create_table(
        "approval_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(64), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("ts", _text(32), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "channel", name="uq_approval_copy_channel"),
    )
    op.create_table(
        "approval_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", _text(64), nullable=False),
        sa.Column("action", _text(16), nullable=False),
        sa.Column("surface", _text(32), nullable=True),
        sa.Column("state", _text(16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_audit_request", "approval_audit", ["request_id", "id"])
    op.create_index("ix_approval_audit_at", "approval_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_approval_audit_at", table_name="approval_audit")
    op.drop_index("ix_approval_audit_request", table_name="approval_audit")
    op.drop_table("approval_audit")
    op.drop_table("approval_copy")
    op.drop_table("approval_vote")
    op.drop_index("ix_approval_request_requester", table_name="approval_request")
    op.drop_index("ix_approval_request_state", table_name="approval_request")
    op.drop_table("approval_request")
