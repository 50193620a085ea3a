"""Lambda handler of the pipeline's `clean` stage (logic: lakeguard.pipeline.clean)."""

from lakeguard.pipeline.clean import clean
from lakeguard.pipeline.handler import stage_handler

handler = stage_handler(clean)
