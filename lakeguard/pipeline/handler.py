"""Adapt a pipeline stage into a Lambda handler: settings, structured logs, error names.

Exceptions propagate unchanged: Lambda reports the class name as ``errorType``, which is
what the state machine's Retry and Catch match on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from lakeguard.config import Settings

Stage = Callable[[dict[str, Any], Settings], dict[str, Any]]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

logger = Logger(service="lakeguard")


def stage_handler(stage: Stage) -> Handler:
    """Wrap ``stage`` so it runs with the function's settings and logs counts, never values."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        run = event.get("run_id")
        logger.append_keys(run_id=run, stage=stage.__name__, dataset=event.get("dataset"))
        try:
            result = stage(event, Settings.from_env())
        except Exception as err:
            logger.warning("stage failed", extra={"error_type": type(err).__name__})
            raise
        logger.info("stage done", extra={k: v for k, v in result.items()
                                          if isinstance(v, int | bool)})
        return result

    handler.__doc__ = f"Lambda entry point of the {stage.__name__} stage."
    return handler
