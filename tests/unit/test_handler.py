"""Stage handlers publish counts as CloudWatch metrics (EMF) and never data values."""

import json

import pytest

from lakeguard import config


@pytest.fixture
def settings_env(monkeypatch):
    for name in (config.ENV_RAW_BUCKET, config.ENV_CLEAN_BUCKET, config.ENV_REFINED_BUCKET,
                 config.ENV_QUARANTINE_BUCKET, config.ENV_ARTEFACTS_BUCKET,
                 config.ENV_GLUE_DATABASE, config.ENV_LEDGER_TABLE, config.ENV_CLEAN_DATABASE):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)


def _emf(out):
    return [json.loads(line) for line in out.splitlines() if '"_aws"' in line]


def test_counts_and_outcome_become_metrics_without_values(settings_env, capsys):
    from lakeguard.pipeline.handler import stage_handler

    def quarantine(event, settings):
        return {"rows_in": 7, "reason": "ValidationFailed", "report": "s3://q/r.json"}

    stage_handler(quarantine)({"run_id": "r1", "dataset": "absences"}, None)
    (document,) = _emf(capsys.readouterr().out)
    names = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"RowsIn", "ObjectsQuarantined"}
    assert document["RowsIn"] == [7.0] and document["ObjectsQuarantined"] == [1.0]
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "lakeguard"
    assert "s3://q/r.json" not in json.dumps(document)


def test_a_failing_stage_raises_its_own_error_type(settings_env):
    from lakeguard.exceptions import ValidationFailed
    from lakeguard.pipeline.handler import stage_handler

    def validate(event, settings):
        raise ValidationFailed("row 3 column 'FT': not a valid score")

    with pytest.raises(ValidationFailed):
        stage_handler(validate)({"run_id": "r2"}, None)


def test_disabled_metrics_do_not_pile_up_across_invocations(settings_env, monkeypatch, capsys):
    from lakeguard.pipeline.handler import metrics, stage_handler

    def publish(event, settings):
        return {"rows_out": 3}

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(3):
        stage_handler(publish)({"run_id": "r3"}, None)
    assert _emf(capsys.readouterr().out) == [] and not metrics.metric_set
