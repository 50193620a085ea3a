"""The embedded AWS: moto in server mode running the synthesized stacks offline.

Every moto workaround lives in :mod:`lakeguard.local.gaps` (and the resources moto's
CloudFormation skips in :mod:`lakeguard.local.skipped`).
"""

from __future__ import annotations

from lakeguard.local.runtime import LocalLake, RunResult, synthesize

__all__ = ["LocalLake", "RunResult", "synthesize"]
