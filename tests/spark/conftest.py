import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.skip("local Spark needs Java 17 on PATH")
    from lakeguard.local.spark import local_spark

    return local_spark()
