import shutil

import pytest


@pytest.fixture(scope="package")
def scratch():
    """The tables the Glue jobs write (an embedded AWS of their own, for this package)."""
    from lakeguard.contracts import list_contracts
    from lakeguard.local.scratch import scratch_lake

    with scratch_lake(*list_contracts()) as names:
        yield names


@pytest.fixture(scope="package")
def spark(scratch):
    if shutil.which("java") is None:
        pytest.skip("local Spark needs Java 17 on PATH")
    from lakeguard.local.spark import local_spark

    return local_spark()
