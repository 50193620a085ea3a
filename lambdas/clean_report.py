"""Lambda handler of the pipeline's `clean_report` stage (logic: lakeguard.pipeline.clean_report)."""

from lakeguard.pipeline.clean_report import clean_report
from lakeguard.pipeline.handler import stage_handler

handler = stage_handler(clean_report)
