"""lakeguard: a serverless, GDPR-safe data lake on AWS that also runs offline.

The package is the engine-free core: contracts, transforms, detectors, the pipeline
stages that Lambda handlers and Glue jobs call, the query front-end, the embedded AWS
(:mod:`lakeguard.local`) and the CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
