"""tests/unit: no server, no moto, no browser (`make check` runs this folder in seconds)."""

import pytest


@pytest.fixture(scope="session")
def moto_endpoint():
    pytest.fail("tests/unit runs without a server: a test that needs moto belongs in tests/integration")
