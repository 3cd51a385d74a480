"""Real peer servers for integration tests; each module here is a pytest plugin of fixtures.

Register them from tests/conftest.py with `pytest_plugins = [*PEER_FIXTURE_MODULES]`.
"""

PEER_FIXTURE_MODULES = [
    "tests.peers.mlflow",
    "tests.peers.prometheus",
    "tests.peers.airflow",
    "tests.peers.prefect",
    "tests.peers.dagster",
]
