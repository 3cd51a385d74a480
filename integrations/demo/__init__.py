"""The embedded demo company: realistic, deterministic data behind every source Protocol."""

from integrations.demo.company import DemoCompany

__all__ = ["DemoCompany"]
