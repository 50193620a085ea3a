"""Where lakeguard's Powertools loggers write: stdout in Lambda, stderr under the CLI.

In Lambda, stdout and stderr both reach CloudWatch, and Powertools writes to stdout by
default. A command line must keep stdout for its results (a table, CSV, JSON a script
parses), so the CLI switches log lines to stderr. The loggers are created at import time,
possibly before the CLI starts; they hold this module's :data:`STREAM`, which looks the
target up at every write, so the switch also reaches loggers that already exist (and
pytest's capture, which replaces ``sys.stdout`` per test).
"""

from __future__ import annotations

import sys
from typing import IO, TextIO, cast


class _Stream:
    """A text stream forwarding to ``sys.stdout`` or ``sys.stderr``, chosen at write time."""

    to_stderr = False

    def _target(self) -> TextIO:
        return sys.stderr if self.to_stderr else sys.stdout

    def write(self, text: str) -> int:
        """Write to the current target."""
        return self._target().write(text)

    def flush(self) -> None:
        """Flush the current target."""
        self._target().flush()


#: The stream every lakeguard Powertools logger writes to.
STREAM = _Stream()


def log_stream() -> IO[str]:
    """The stream to give a Powertools ``Logger`` (``Logger(stream=log_stream())``)."""
    return cast(IO[str], STREAM)


def use_stderr(enabled: bool = True) -> None:
    """Send log lines to stderr (the CLI), or back to stdout (Lambda's default)."""
    STREAM.to_stderr = enabled
