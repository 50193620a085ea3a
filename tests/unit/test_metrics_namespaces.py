"""Metric namespaces are named once, in lakeguard.config.

Two modules each had a ``METRICS_NAMESPACE``, with different values: a reader of one could
not tell the stages' metrics from the models' by name, and the IAM condition that allows
PutMetricData to the models' namespace only read one of them.
"""

import ast
from pathlib import Path

from lakeguard import config
from lakeguard.pipeline import handler

ROOT = Path(__file__).resolve().parents[2]


def _namespace_constants(folder: str) -> list[str]:
    """Module-level names ending in NAMESPACE assigned outside lakeguard/config.py."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path == ROOT / "lakeguard" / "config.py":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            found += [f"{path.relative_to(ROOT)}:{t.id}" for t in targets
                      if isinstance(t, ast.Name) and t.id.endswith("NAMESPACE")]
    return found


def test_namespaces_live_in_config_only():
    assert _namespace_constants("lakeguard") + _namespace_constants("stacks") == []


def test_stage_and_model_metrics_stay_apart():
    assert config.PIPELINE_METRICS_NAMESPACE != config.MODEL_METRICS_NAMESPACE
    assert handler.metrics.namespace == config.PIPELINE_METRICS_NAMESPACE
