"""Lambda handler of the pipeline's `quality` stage (logic: lakeguard.pipeline.quality)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.quality import quality

handler = stage_handler(quality)
