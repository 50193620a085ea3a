"""Lambda handler of the pipeline's `publish` stage (logic: lakeguard.pipeline.publish)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.pipeline.publish import publish

handler = stage_handler(publish)
