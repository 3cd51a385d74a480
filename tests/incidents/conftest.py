"""The demo company's services and answer dependencies (defined with the detectors' fixtures)
serve the incident core's tests too: the demo cascade is what the detectors find."""

from tests.incidents.detectors.conftest import demo_deps, demo_services

__all__ = ["demo_deps", "demo_services"]
