"""heartbeat: how often each replica promised to beat, and when it stopped cleanly, so the
leases of a replica that is provably gone can be taken over at once

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("heartbeat") as batch:
        batch.add_column(sa.Column("every", sa.Float(), nullable=True))
        batch.add_column(sa.Column("stopped_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("heartbeat") as batch:
        batch.drop_column("stopped_at")
        batch.drop_column("every")
