"""incidents: routing, lineage, muting and coalesced delivery on `incident`; its instances
(`incident_alert`) and its timeline and audit records (`incident_event`)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("route_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("subject", _text(255), nullable=True))
        batch.add_column(sa.Column("caused_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("instance_count", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("labels", sa.Text(), nullable=True))
        batch.add_column(sa.Column("links", sa.Text(), nullable=True))
        batch.add_column(sa.Column("muted_until", sa.Float(), nullable=True))
        batch.add_column(sa.Column("silence_id", _text(64), nullable=True))
        batch.add_column(sa.Column("resolve_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reopened", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("dirty", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("flushed_at", sa.Float(), nullable=True))
    with op.batch_alter_table("incident") as batch:
        batch.alter_column("instance_count", server_default=None)
        batch.alter_column("reopened", server_default=None)
        batch.alter_column("dirty", server_default=None)
    op.create_table(
        "incident_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("instance", _text(255), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=True),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("firings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "instance", name="uq_incident_alert"),
    )
    op.create_index("ix_incident_alert_incident_id", "incident_alert", ["incident_id"])
    op.create_table(
        "incident_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", _text(32), nullable=False),
        sa.Column("actor", _text(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("news", sa.Boolean(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_event_incident", "incident_event", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_incident_event_incident", table_name="incident_event")
    op.drop_table("incident_event")
    op.drop_index("ix_incident_alert_incident_id", table_name="incident_alert")
    op.drop_table("incident_alert")
    with op.batch_alter_table("incident") as batch:
        for name in (
            "flushed_at",
            "dirty",
            "reopened",
            "resolve_note",
            "silence_id",
            "muted_until",
            "links",
            "labels",
            "instance_count",
            "caused_by_id",
            "subject",
            "route_reason",
        ):
            batch.drop_column(name)
