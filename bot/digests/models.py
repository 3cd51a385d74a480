"""The digest table: per digest name, the state its last post showed (the next run's `previous`),
the last schedule slot handled, and a channel problem reported to its owners.

Slot claims themselves are rows of `job_slot` (job id `digest:NAME`, slot the scheduled time in
UTC): the primary key makes one replica win each slot, as for every other scheduled job.
Times are UTC epoch seconds (float), as in bot.store.models.
"""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class DigestRecord(SQLModel, table=True):
    __tablename__ = "digest_record"

    name: str = Field(primary_key=True, max_length=64)
    state: str | None = Field(default=None, sa_column=Column(Text), description="JSON")
    last_slot: str | None = Field(default=None, max_length=64, description="ISO time, UTC")
    last_outcome: str | None = Field(default=None, max_length=16)
    posted_at: float | None = None
    root_outbox_id: int | None = Field(default=None, description="outbox row of the last root")
    # A channel Slack refused for good (not_in_channel, channel_not_found, is_archived): shown
    # in `/ops digest list` and told to the owners once, until a post there goes through again.
    problem_channel: str | None = Field(default=None, max_length=64)
    problem: str | None = Field(default=None, max_length=64)
    problem_at: float | None = None
    problem_outbox_id: int | None = None
