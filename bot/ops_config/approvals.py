"""The `approvals:` block of ops.yml: who must approve a promotion or a budget increase."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from bot.ops_config.common import (
    SLUG_PATTERN,
    USER_ID_PATTERN,
    Duration,
    NoDuplicates,
    NonNegativeAmount,
    PositiveAmount,
    Slug,
    StrictModel,
)

ApprovalKind = Literal["promotion", "budget_increase"]

_APPROVER = re.compile(
    rf"owners|admins|team:(?P<team>{SLUG_PATTERN})|user:(?P<user>{USER_ID_PATTERN})"
)


def parse_approver(group: str) -> tuple[str, str | None]:
    """'team:finance' -> ('team', 'finance'); 'owners' -> ('owners', None)."""
    found = _APPROVER.fullmatch(group)
    if not found:
        raise ValueError(group)
    if found["team"]:
        return "team", found["team"]
    if found["user"]:
        return "user", found["user"]
    return group, None


def _check_approver(value: object) -> str:
    if isinstance(value, str):
        try:
            parse_approver(value)
            return value
        except ValueError:
            pass
    raise PydanticCustomError(
        "approver_group",
        "{got} is not an approver group: use 'owners' (the team owning the model or budget), "
        "'admins' (workspace admins), 'team:<slug>' or 'user:<U…>'",
        {"got": repr(value)},
    )


ApproverGroup = Annotated[str, BeforeValidator(_check_approver)]

_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_RESERVED_ALIAS = re.compile(r"latest|v\d+")


def _check_alias(value: object) -> str:
    # MLflow reserves 'latest' and 'v<number>' for its own version references.
    if isinstance(value, str) and _ALIAS.fullmatch(value) and not _RESERVED_ALIAS.fullmatch(value):
        return value
    raise PydanticCustomError(
        "model_alias",
        "{got} is not a usable registry alias: lowercase letters, digits, '-' and '_', "
        "and not 'latest' or 'v<number>' (MLflow reserves those)",
        {"got": repr(value)},
    )


Alias = Annotated[str, BeforeValidator(_check_alias)]
DEFAULT_ALIASES = ["champion", "challenger", "production", "staging"]


def _always_separate(value: object) -> object:
    if value is False:
        raise PydanticCustomError(
            "separation_of_duties",
            "separation_of_duties cannot be turned off: a requester never approves their own "
            "request (remove the key, or set it to true)",
        )
    return value


class PolicyMatch(StrictModel):
    """Which requests a policy covers; an empty match covers every request of its kind."""

    aliases: Annotated[list[Alias], NoDuplicates] | None = Field(
        None, description="promotion only: target aliases this policy covers"
    )
    amount_over: NonNegativeAmount | None = Field(
        None, description="budget_increase only: increases strictly above this amount"
    )

    def covers(self, *, alias: str | None = None, amount: Decimal | None = None) -> bool:
        if self.aliases is not None and alias not in self.aliases:
            return False
        return self.amount_over is None or (amount is not None and amount > self.amount_over)


class ApprovalPolicy(StrictModel):
    """Approval rule. A request needs `quorum` distinct approvals from the union of the
    `approvers` groups, including at least one from each group listed in `required`."""

    name: Slug = Field(description="Unique name, shown on requests and in the audit log")
    kind: ApprovalKind
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    approvers: Annotated[list[ApproverGroup], NoDuplicates] = Field(
        min_length=1,
        description="'owners' (team owning the model/budget), 'admins', 'team:<slug>', 'user:<U…>'",
    )
    required: Annotated[list[ApproverGroup], NoDuplicates] = Field(
        default_factory=list, description="Groups (also in approvers) that must each approve"
    )
    quorum: int = Field(1, ge=1, description="Distinct approvals needed (N of M)")
    separation_of_duties: Annotated[Literal[True], BeforeValidator(_always_separate)] = Field(
        True,
        description="Always true: the requester never approves their own request (kept so "
        "files that state it stay valid; false is an error)",
    )
    exclude_committer: bool = Field(
        False,
        description="Promotion: whoever registered the candidate version (its registry user, "
        "mapped through workspace.identities) may not approve it either",
    )
    ttl: Duration = Field(timedelta(hours=72), description="Request expires after this, e.g. 72h")
    remind_every: Duration | None = Field(
        timedelta(hours=24), description="Remind pending approvers this often; null for never"
    )
    escalate_to: Slug | None = Field(
        None,
        description="Fallback team: after escalate_after it may approve in place of the silent "
        "approvers; it is also told when the request expires",
    )
    escalate_after: Duration | None = Field(
        None,
        description="How long a request waits before escalate_to is asked too (needs "
        "escalate_to; shorter than ttl); null: escalate_to only hears of the expiry",
    )

    @model_validator(mode="after")
    def _escalation_fits(self) -> ApprovalPolicy:
        if self.escalate_after is not None:
            if self.escalate_to is None:
                raise PydanticCustomError(
                    "escalation", "escalate_after needs escalate_to (the team to ask)"
                )
            if self.escalate_after >= self.ttl:
                raise PydanticCustomError(
                    "escalation",
                    "escalate_after ({after}) must be shorter than ttl ({ttl}), or the request "
                    "expires before anyone is asked",
                    {"after": str(self.escalate_after), "ttl": str(self.ttl)},
                )
        return self


class MlflowRequests(StrictModel):
    """Promotion requests opened by MLflow's model-registry webhooks (POST /webhooks/mlflow)."""

    promote_tag: str | None = Field(
        "switchboard.promote_to",
        min_length=1,
        description="A version carrying this tag (at registration or set later) asks for the "
        "tag's value as its alias; null turns tag requests off",
    )
    on_alias: dict[Alias, Alias] = Field(
        default_factory=dict,
        description="alias set in MLflow -> alias to request: {challenger: champion} asks to "
        "make every new challenger the champion",
    )


class Approvals(StrictModel):
    policies: list[ApprovalPolicy] = Field(
        default_factory=list, description="Checked in order; the first matching policy applies"
    )
    allowed_aliases: Annotated[list[Alias], NoDuplicates] = Field(
        default_factory=lambda: list(DEFAULT_ALIASES),
        description="Registry aliases `/ops promote` may set",
    )
    max_budget_increase: PositiveAmount = Field(
        Decimal(100_000),
        description="Largest increase one request may ask for (workspace currency); a typo "
        "like 500000 instead of 5000 is refused before anyone is asked",
    )
    mlflow: MlflowRequests = Field(
        default_factory=lambda: MlflowRequests(),
        description="Which MLflow model-registry webhook events open a promotion request",
    )

    def policy_for(
        self, kind: ApprovalKind, *, alias: str | None = None, amount: Decimal | None = None
    ) -> ApprovalPolicy | None:
        """The first policy of `kind` whose match covers the request, or None."""
        for policy in self.policies:
            if policy.kind == kind and policy.match.covers(alias=alias, amount=amount):
                return policy
        return None
