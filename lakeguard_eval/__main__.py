"""``python -m lakeguard_eval``: the ``lakeguard-eval`` command."""

import sys

from lakeguard_eval.cli import main

sys.exit(main())
