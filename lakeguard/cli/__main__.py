"""``python -m lakeguard.cli``: the ``lakeguard`` command."""

import sys

from lakeguard.cli import main

sys.exit(main())
