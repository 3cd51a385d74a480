"""Real peer servers for integration tests; each module here is a pytest plugin.

Register them from tests/conftest.py with `pytest_plugins = [*PEER_FIXTURE_MODULES]`: `plugin`
holds the fixture factory and the session hooks, the others one peer's session fixture each.
"""

PEER_FIXTURE_MODULES = [
    "tests.peers.plugin",
    "tests.peers.mlflow",
    "tests.peers.prometheus",
    "tests.peers.airflow",
    "tests.peers.prefect",
    "tests.peers.dagster",
]
