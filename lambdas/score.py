"""Lambda handler of the pipeline's `score` stage (logic: lakeguard.pipeline.modelling)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.modelling import score

handler = stage_handler(score)
