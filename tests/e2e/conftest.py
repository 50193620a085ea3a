import pytest


@pytest.fixture(scope="session")
def lake(local_lake):
    """One embedded AWS with the synthesized stacks deployed, for the whole session: the
    fixture lakeguard ships to its users (lakeguard/testing.py), so the suite runs on it."""
    return local_lake
