"""No lakeguard module is named after a standard-library module.

``transforms/typing.py`` read as the stdlib's ``typing`` to a newcomer (and to any tool run
from inside that folder); ``glue/io.py`` likewise shadowed ``io``.
"""

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lakeguard"


def test_no_module_shadows_the_standard_library():
    shadowing = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")
                 if p.stem in sys.stdlib_module_names]
    assert shadowing == []
