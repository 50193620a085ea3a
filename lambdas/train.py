"""Lambda handler of the pipeline's `train` stage (logic: lakeguard.pipeline.modelling)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.modelling import train

handler = stage_handler(train)
