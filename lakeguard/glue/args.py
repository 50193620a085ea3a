"""Job arguments as Glue passes them (``--name value``), without needing ``awsglue``.

Glue's own ``getResolvedOptions`` is not importable outside Glue; this reads the same
argv shape so the job script runs unchanged in Glue and under local pyspark.
"""

from __future__ import annotations

from collections.abc import Sequence

from lakeguard.exceptions import LakeguardError


class JobArgumentError(LakeguardError):
    """A Glue job was started without an argument it needs."""


def resolve_args(argv: Sequence[str], names: Sequence[str], *, task: str) -> dict[str, str]:
    """Return the values of ``--<name>`` for each of ``names`` (other arguments are ignored).

    ``task`` is the state machine's task that starts the job (``Refine``, ``CleanLarge``):
    a missing argument is a mistake in that task's ``Arguments``, so the error names it.
    """
    values: dict[str, str] = {}
    for index, token in enumerate(argv):
        if token.startswith("--") and token[2:] in names and index + 1 < len(argv):
            values[token[2:]] = argv[index + 1]
    missing = [n for n in names if n not in values]
    if missing:
        raise JobArgumentError(
            f"job arguments {', '.join('--' + m for m in missing)} are missing; the state "
            f"machine's {task} task passes them (statemachines/pipeline.asl.json)"
        )
    return values
