"""ops.yml, configuration as code: schema, loader with line-numbered errors, and lookups."""

from bot.ops_config.approvals import ApprovalPolicy, Approvals, PolicyMatch, parse_approver
from bot.ops_config.digests import ALL_SECTIONS, Digest
from bot.ops_config.incidents import Detectors, IncidentRoute, Incidents, RouteMatch
from bot.ops_config.loader import (
    ConfigIssue,
    OpsConfigError,
    check_ops_config,
    check_ops_config_text,
    load_ops_config,
    parse_ops_config,
)
from bot.ops_config.schema import BudgetConfig, LineageEntry, OpsConfig, Ownership, Team, Workspace
from bot.ops_config.sources import SourcesConfig

__all__ = [
    "ALL_SECTIONS",
    "ApprovalPolicy",
    "Approvals",
    "BudgetConfig",
    "ConfigIssue",
    "Detectors",
    "Digest",
    "IncidentRoute",
    "Incidents",
    "LineageEntry",
    "OpsConfig",
    "OpsConfigError",
    "Ownership",
    "PolicyMatch",
    "RouteMatch",
    "SourcesConfig",
    "Team",
    "Workspace",
    "check_ops_config",
    "check_ops_config_text",
    "load_ops_config",
    "parse_ops_config",
    "parse_approver",
]
