"""Approval engine: requests, policies, decisions, execution and the audit log (no Slack)."""
