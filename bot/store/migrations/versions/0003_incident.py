"""incidents (one per alert fingerprint)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", _text(255), nullable=False),
        sa.Column("open_key", _text(255), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("team", _text(64), nullable=False),
        sa.Column("severity", _text(16), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("source", _text(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("channel", _text(64), nullable=True),
        sa.Column("root_outbox_id", sa.Integer(), nullable=True),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("last_alert_at", sa.Float(), nullable=False),
        sa.Column("acknowledged_by", _text(64), nullable=True),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("resolved_by", _text(64), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key", name="uq_incident_open_key"),
    )
    op.create_index("ix_incident_team_status", "incident", ["team", "status"])


def downgrade() -> None:
    op.drop_index("ix_incident_team_status", table_name="incident")
    op.drop_table("incident")
