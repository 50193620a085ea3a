"""The benchmark plumbing: result documents, the table, bytes a columnar reader fetches."""

import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeguard.parallel import ordered_map

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import results_table  # noqa: E402
from athena_scan import scanned_bytes  # noqa: E402


def test_a_result_is_met_by_its_rule_on_the_ratio_and_stored_with_the_required_fields(
        tmp_path, monkeypatch):
    monkeypatch.setattr(results_table, "RESULTS", tmp_path)
    slow = results_table.check("x", 3.0, 1.0, "s", "ratio <= 1.5", lambda r: r <= 1.5, rows=10)
    fast = results_table.check("y", 1.2, 1.0, "s", "ratio <= 1.5", lambda r: r <= 1.5)
    assert (slow.met, fast.met) == (False, True)
    stored = json.loads(results_table.record(slow).read_text())
    assert {"name", "measured", "baseline", "ratio", "target", "met"} <= set(stored)
    assert stored["ratio"] == 3.0 and stored["details"] == {"rows": 10}


def test_the_table_shows_every_result_and_marks_missed_targets(tmp_path, monkeypatch):
    monkeypatch.setattr(results_table, "RESULTS", tmp_path)
    results_table.record(results_table.check("a", 3.0, 1.0, "s", "ratio <= 1.5",
                                              lambda r: r <= 1.5))
    results_table.record(results_table.BenchResult("b", 2.0, 4.0, "s", "information", None))
    lines = results_table.table([json.loads(p.read_text())
                                 for p in sorted(tmp_path.glob("*.json"))]).splitlines()
    assert lines[0].split()[:2] == ["benchmark", "measured"]
    assert lines[2].split()[0] == "a" and lines[2].split()[-1] == "NO"
    assert lines[3].split()[0] == "b" and lines[3].split()[-1] == "-"
    assert results_table.main() == 1  # a missed target fails make bench


def test_scanned_bytes_count_only_the_selected_columns_plus_footers(tmp_path):
    table = pa.table({"small": pa.array([1] * 1000), "wide": pa.array(["x" * 200 + str(i)
                                                                         for i in range(1000)])})
    path = tmp_path / "part" / "f.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    small, files = scanned_bytes(tmp_path, ["small"])
    both, _ = scanned_bytes(tmp_path, ["small", "wide"])
    meta = pq.ParquetFile(path).metadata
    assert files == 1
    assert small == meta.serialized_size + 12 + meta.row_group(0).column(0).total_compressed_size
    assert both - small == meta.row_group(0).column(1).total_compressed_size


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_ordered_map_keeps_input_order_whatever_finishes_first(workers):
    def slow_for_even(i):
        time.sleep(0.002 if i % 2 == 0 else 0)
        return i * i
    assert list(ordered_map(slow_for_even, range(40), workers)) == [i * i for i in range(40)]


def test_ordered_map_raises_at_the_failing_item_and_bounds_what_is_in_flight():
    started, lock = [], threading.Lock()

    def work(i):
        with lock:
            started.append(i)
        if i == 5:
            raise ValueError("item 5")
        return i

    results = []
    with pytest.raises(ValueError, match="item 5"):
        for value in ordered_map(work, range(1000), 2):
            results.append(value)
    assert results == [0, 1, 2, 3, 4]
    assert max(started) <= 5 + 3  # never more than workers + 1 ahead of the consumer


def _results(folder: Path) -> None:
    """Benchmark documents as ``make bench`` leaves them (figures of a plausible run)."""
    documents = {
        "anonymise_vs_floor": {"measured": 4.0, "details": {"rows": 1_000_000}},
        "end_to_end_spark_vs_lambda": {"measured": 30.0, "details": {
            "rows": 1_000_000, "spark_anonymise_s": 20.0, "spark_refine_s": 10.0}},
        "athena_scan_team_anomalies": {"measured": 5_400},
        "athena_scan_absences_monthly": {"measured": 2_800},
        "refine_engines": {"measured": 1.4, "baseline": 0.004, "details": {"rows": 20_000}},
    }
    for name, document in documents.items():
        (folder / f"{name}.json").write_text(json.dumps(document))


def test_the_cost_model_bills_glue_minimums_per_object_and_work_beyond_them(tmp_path):
    import cost_model

    _results(tmp_path)
    measured = cost_model.Measured.read(tmp_path)
    assert measured.anonymise_core_s_per_row == pytest.approx(40e-6)  # 2 cores x 20 s / 1M
    assert not measured.publish_measured  # bench/publish.py did not run: assumed, and said
    # 10,000 small files a day are refined in Lambda: no Glue run, no one-minute minimum
    small = cost_model.costs(measured, 10_000, 65_000_000, False, 1000)
    assert small["glue DPU-h"] == 0
    assert measured.arrow_refine_s_per_row == pytest.approx(0.2e-6)
    # ... each pays the Refine Lambda's seconds on top of the other stages'
    per_object = cost_model.lambda_object(measured, 6_500, on_glue=False)
    without_refine = per_object - cost_model.lambda_object(
        dataclasses.replace(measured, arrow_refine_s_per_row=0.0), 6_500, False)
    assert without_refine == pytest.approx(6_500 * 0.2e-6 / cost_model.VCPU_PER_GB)
    # a run per object on Glue bills its minimum, however small the object
    few = cost_model.costs(measured, 10, 10, True, 0)
    assert few["glue DPU-h"] == pytest.approx(2 * 10 * 2 / 60)  # both jobs, 2 DPU, 1 min
    # ... a backfill in few large objects is billed by its work (4 vCPU per DPU)
    rows = 6.45e9
    large = cost_model.costs(measured, 100, rows, True, 0)
    work = rows * (20e-6 + 40e-6) / 4 / 3600
    assert large["glue DPU-h"] == pytest.approx(work)
    # Athena bills at least 10 MB a query, however few bytes the Parquet layout reads
    assert small["athena bytes"] == 1000 * 10e6


def test_the_cost_model_names_the_benchmark_to_run_when_a_figure_is_missing(tmp_path):
    import cost_model

    with pytest.raises(SystemExit, match=r"anonymise_vs_floor\.json is missing"):
        cost_model.Measured.read(tmp_path)


def test_the_athena_bench_writes_the_anomalies_files_publish_commits(iceberg_aws, tmp_path):
    """The bench's bytes are the product's: same footer, same column chunks as replace_rows."""
    from athena_scan import write_partitioned

    from lakeguard.layout import key_id, run_id
    from lakeguard.tables import Source, ensure_tables, replace_rows
    from lakeguard.tables.anomalies import ANOMALIES_SCHEMA
    from lakeguard.tables.catalog import glue_catalog
    from lakeguard.tables.commit import with_lineage
    from lakeguard.tables.spec import ANOMALIES

    # GIVEN a season of scored points and the raw key they came from
    n = 60
    points = pa.table({
        "entity": ["A"] * 30 + ["B"] * 30, "ts": pa.array(list(range(30)) * 2, pa.int32()),
        "value": [float(i % 7) for i in range(n)], "lower": [-1.5 - i / 100 for i in range(n)],
        "upper": [3.25 + i / 100 for i in range(n)], "score": [i / 50 for i in range(n)],
        "is_anomaly": [i % 9 == 0 for i in range(n)], "alert": [i % 18 == 0 for i in range(n)],
        "reason": ["above the expected range" if i % 9 == 0 else "" for i in range(n)],
        "detector": ["range_likelihood"] * n, "model_version": ["v1"] * n,
        "dataset": ["matches"] * n, "season": ["1996-97"] * n,
    }).cast(ANOMALIES_SCHEMA)
    key = "matches/1996-97_fr.1.csv"
    # WHEN Publish commits them and the bench writes them
    spec = dataclasses.replace(ANOMALIES, name="anomalies_bench")
    ensure_tables((spec,), iceberg_aws)
    table = glue_catalog().load_table(spec.identifier(iceberg_aws))
    source = Source(run_id("matches", "raw", key, None), key_id(key), key, None, None)
    replace_rows(table, with_lineage(points, table.schema().as_arrow(), source), source)
    write_partitioned(points, tmp_path, spec, key)
    # THEN the two files have the same footer and column chunks, byte for byte
    (task,) = table.refresh().scan().plan_files()
    with table.io.new_input(task.file.file_path).open() as stream:
        published = pq.ParquetFile(pa.BufferReader(stream.read())).metadata
    (path,) = tmp_path.rglob("dataset=matches/season=1996-97/*.parquet")
    bench = pq.ParquetFile(path).metadata
    assert bench.metadata == published.metadata  # the Arrow schema pyiceberg stores
    assert bench.serialized_size == published.serialized_size
    assert [bench.row_group(0).column(i).total_compressed_size for i in range(15)] == \
        [published.row_group(0).column(i).total_compressed_size for i in range(15)]
