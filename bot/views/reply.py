"""A rendered answer: fallback text plus Block Kit blocks, and where it should be shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Block = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    text: str  # notification / accessibility fallback, also what old clients show
    blocks: list[Block] = field(default_factory=list)
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"

    def as_slack_response(self) -> dict[str, Any]:
        return {"response_type": self.response_type, "text": self.text, "blocks": self.blocks}
