"""Errors adapters raise: which source failed, what happened, and what the operator should fix."""

from __future__ import annotations


class SourceError(Exception):
    """A peer system could not answer. `str(exc)` is safe to show users: no credentials."""

    def __init__(self, source: str, message: str, fix: str | None = None) -> None:
        self.source = source
        self.message = message
        self.fix = fix
        super().__init__(source, message, fix)

    def __str__(self) -> str:
        text = f"{self.source}: {self.message}"
        return f"{text} — fix: {self.fix}" if self.fix else text


class SourceUnavailable(SourceError):
    """Unreachable, timed out, or answered 5xx."""


class SourceAuthError(SourceError):
    """Rejected our credentials (401) or lacks permission (403)."""


class SourceNotFound(SourceError):
    """The thing asked for does not exist in the source (404 or an empty lookup)."""


class SourceDataError(SourceError):
    """The source answered something we cannot use, or we refused unsafe input."""
