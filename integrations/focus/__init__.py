"""FOCUS (FinOps Open Cost and Usage Specification) spend: column specs, DuckDB reader, analysis."""

from integrations.focus.source import FocusCostSource

__all__ = ["FocusCostSource"]
