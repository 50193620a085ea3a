"""Lambda handler of the pipeline's `check_model` stage (logic: lakeguard.pipeline.modelling)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.modelling import check_model

handler = stage_handler(check_model)
