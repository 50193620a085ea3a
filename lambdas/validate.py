"""Lambda handler of the pipeline's `validate` stage (logic: lakeguard.pipeline.validate)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.validate import validate

handler = stage_handler(validate)
