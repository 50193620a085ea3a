import shutil

import pytest


@pytest.fixture(scope="session")
def lake():
    """One embedded AWS with the synthesized stacks deployed, for the whole session."""
    if shutil.which("java") is None or shutil.which("node") is None:
        pytest.skip("the embedded lake needs Java (local Spark) and Node (CDK synth)")
    from lakeguard.local import LocalLake

    lake = LocalLake().start()
    yield lake
    lake.stop()
