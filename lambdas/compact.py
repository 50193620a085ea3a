"""Lambda handler of the scheduled table compaction (logic: lakeguard.tables.compaction)."""

from lakeguard.pipeline.handler import stage_handler
from lakeguard.tables.compaction import compact_lake

handler = stage_handler(compact_lake)
