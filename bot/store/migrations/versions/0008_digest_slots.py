"""digests: per digest, the state of its last post, the last slot handled, and a refused channel
(slot claims are job_slot rows, job id digest:NAME)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "digest_record",
        sa.Column("name", _text(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("last_slot", _text(64), nullable=True),
        sa.Column("last_outcome", _text(16), nullable=True),
        sa.Column("posted_at", sa.Float(), nullable=True),
        sa.Column("root_outbox_id", sa.Integer(), nullable=True),
        sa.Column("problem_channel", _text(64), nullable=True),
        sa.Column("problem", _text(64), nullable=True),
        sa.Column("problem_at", sa.Float(), nullable=True),
        sa.Column("problem_outbox_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("digest_record")
