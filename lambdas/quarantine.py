"""Lambda handler of the pipeline's `quarantine` stage (logic: lakeguard.pipeline.quarantine)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.quarantine import quarantine

handler = stage_handler(quarantine)
