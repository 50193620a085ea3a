"""Lambda handler of the pipeline's `refine` stage (logic: lakeguard.pipeline.refine)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.refine import refine

handler = stage_handler(refine)
