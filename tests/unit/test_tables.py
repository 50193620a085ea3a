"""Iceberg tables on moto (server mode, in process): create and evolve from specs, the one
commit per run that replaces a source's rows, its retry, the revert, and the moto gap
that let two concurrent commits both succeed."""

import dataclasses
import threading
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeguard.exceptions import ContractError
from lakeguard.tables import Names, Source, TableSpec, ensure_tables, replace_rows, revert_run
from lakeguard.tables.commit import Superseded, visible_runs, with_lineage
from lakeguard.tables.ensure import SchemaChangeRefused, check_compatible
from lakeguard.tables.spec import LINEAGE

warnings.filterwarnings("ignore", category=UserWarning)
NAMES = Names("c_db", "r_db", "clean-b", "refined-b")  # the iceberg_aws fixture's
SPEC = TableSpec("refined", "scores", pa.schema([("team", pa.string()), ("goals", pa.int64()),
                                                 ("season", pa.string()), *LINEAGE]),
                 ("season",), "test table")


@pytest.fixture
def aws(iceberg_aws):
    return iceberg_aws


def _table(name):
    from lakeguard.tables.catalog import glue_catalog

    spec = TableSpec(SPEC.zone, name, SPEC.schema, SPEC.partition_by, SPEC.description)
    ensure_tables((spec,), NAMES)
    return spec, glue_catalog().load_table(spec.identifier(NAMES))


def _source(key, run):
    return Source(run, key, f"matches/{key}.csv", "v", "digest")


def _rows(table, source, goals, n=5):
    rows = pa.table({"team": ["A"] * n, "goals": [goals] * n, "season": ["2000-01"] * n})
    return with_lineage(rows, table.schema().as_arrow(), source)


def _visible(table):
    table.refresh()
    return visible_runs(table)


def test_a_later_version_replaces_its_key_in_one_snapshot_and_a_retry_does_nothing(aws):
    _, table = _table("replace")
    first, second, other = _source("k1", "r1"), _source("k1", "r2"), _source("k2", "r3")
    replace_rows(table, _rows(table, first, 1), first)
    replace_rows(table.refresh(), _rows(table, other, 7), other)
    snapshots = len(table.refresh().snapshots())
    committed = replace_rows(table, _rows(table, second, 2), second)
    assert len(table.refresh().snapshots()) == snapshots + 1  # one commit, one snapshot
    assert _visible(table) == {"k1": {"r2": 5}, "k2": {"r3": 5}}
    summary = table.snapshot_by_id(committed).summary.additional_properties
    assert summary["lakeguard.run-id"] == "r2" and summary["lakeguard.source-key-id"] == "k1"
    assert replace_rows(table, _rows(table, second, 2), second) == committed  # a retry
    assert len(table.refresh().snapshots()) == snapshots + 1


def test_an_older_run_never_replaces_a_newer_version(aws):
    _, table = _table("newer")
    newer, older = _source("k1", "r2"), _source("k1", "r1")
    replace_rows(table, _rows(table, newer, 2), newer)
    with pytest.raises(Superseded, match="newer version"):
        replace_rows(table.refresh(), _rows(table, older, 1), older, newer_runs=frozenset({"r2"}))
    assert _visible(table) == {"k1": {"r2": 5}}


def test_a_crash_before_the_catalog_commit_changes_nothing_visible(aws):
    _, table = _table("crash")
    first, second = _source("k1", "r1"), _source("k1", "r2")
    replace_rows(table, _rows(table, first, 1), first)

    def crash():
        raise RuntimeError("crashed")

    with pytest.raises(RuntimeError):
        replace_rows(table.refresh(), _rows(table, second, 2), second, on_written=crash)
    assert _visible(table) == {"k1": {"r1": 5}}


def test_revert_gives_the_key_back_its_rows_before_the_run(aws):
    _, table = _table("revert")
    first, second = _source("k1", "r1"), _source("k1", "r2")
    replace_rows(table, _rows(table, first, 1), first)
    replace_rows(table.refresh(), _rows(table, second, 2), second)
    assert revert_run(table.refresh(), second) is not None
    assert _visible(table) == {"k1": {"r1": 5}}
    assert revert_run(table.refresh(), second) is None  # nothing left to revert


def test_two_concurrent_commits_both_land_with_the_version_check(aws):
    # GIVEN two writers that loaded the same table version (the race moto used to lose)
    from lakeguard.tables.catalog import glue_catalog

    spec, _ = _table("race")
    loaded = [glue_catalog().load_table(spec.identifier(NAMES)) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def write(i, table):
        source = _source(f"k{i}", f"r{i}")
        rows = _rows(table, source, i)
        barrier.wait()
        try:
            replace_rows(table, rows, source)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i, t)) for i, t in enumerate(loaded)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN both commits are there: the loser was refused, reloaded and retried
    assert not errors
    assert _visible(loaded[0]) == {"k0": {"r0": 5}, "k1": {"r1": 5}}


def test_a_new_column_evolves_the_table_and_old_rows_read_null(aws):
    spec, table = _table("evolve")
    source = _source("k1", "r1")
    replace_rows(table, _rows(table, source, 1), source)
    wider = TableSpec(spec.zone, spec.name, pa.schema([*SPEC.schema, ("coach", pa.string())]),
                      spec.partition_by, spec.description)
    assert ensure_tables((wider,), NAMES) == {"refined/evolve": ["added coach"]}
    rows = table.refresh().scan().to_arrow()
    assert "coach" in rows.column_names and rows["coach"].null_count == rows.num_rows


def test_a_dropped_or_retyped_column_is_refused(aws):
    spec, _ = _table("refuse")
    narrower = TableSpec(spec.zone, spec.name, pa.schema([("team", pa.string()), *LINEAGE]),
                         spec.partition_by, spec.description)
    with pytest.raises(SchemaChangeRefused, match="column 'goals' would be dropped"):
        ensure_tables((narrower,), NAMES)


def test_check_compatible_refuses_at_synth_with_one_line():
    recorded = [{"zone": "refined", "name": "t", "partition_by": ["season"],
                 "columns": [["a", "string"], ["b", "int64"]]}]
    check_compatible(recorded, [{**recorded[0], "columns": [["a", "string"], ["b", "int64"],
                                                             ["c", "string"]]}])
    with pytest.raises(ContractError) as refused:
        check_compatible(recorded, [{**recorded[0], "columns": [["a", "string"],
                                                                 ["b", "double"]]}])
    assert "column 'b' would change type from int64 to double" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_lock_records_the_contracts_tables():
    from lakeguard.tables.lock import LOCK, recorded
    from lakeguard.tables.spec import all_tables, describe

    assert recorded() == describe(all_tables()), (
        f"{LOCK} is behind the contracts: run `python -m lakeguard.tables.lock` and commit it")


def test_synth_refuses_a_retyped_column_against_the_lock(tmp_path):
    from lakeguard.tables.lock import check_against_lock, recorded

    lock = tmp_path / "tables.lock.json"
    tables = recorded()
    team = next(t for t in tables if t["name"] == "team_matches")
    team["columns"] = [["goals_for", "string"] if c[0] == "goals_for" else c
                       for c in team["columns"]]
    lock.write_text(__import__("json").dumps(tables))
    with pytest.raises(SchemaChangeRefused, match="column 'goals_for' would change type"):
        check_against_lock(lock)


def test_a_row_level_delete_then_purge_leaves_no_file_with_the_rows(aws):
    from lakeguard.tables.expressions import equal
    from lakeguard.tables.maintenance import current_files, purge

    _, table = _table("purge")
    source = _source("k1", "r1")
    rows = _rows(table, source, 1).set_column(0, "team", pa.array(["A", "B", "A", "B", "C"]))
    replace_rows(table, rows, source)
    table.refresh()
    before = current_files(table)
    table.delete(equal("team", "B"))
    table.refresh()
    dropped = before - current_files(table)
    assert dropped
    purged = purge(table, dropped)
    assert {f"s3://refined-b/{k}" for k in purged} >= dropped
    assert len(table.refresh().snapshots()) == 1
    assert "B" not in table.scan().to_arrow()["team"].to_pylist()


def test_an_expiry_that_keeps_an_older_snapshot_still_counts_as_expiry_for_the_proof(aws):
    import time
    from datetime import UTC, datetime

    from lakeguard.pipeline.ledger import LedgerEntry
    from lakeguard.pipeline.ledger_check import TableState, check_tables
    from lakeguard.tables.maintenance import expire_snapshots

    spec, table = _table("expired_keep")
    pinned, erased, later = _source("k1", "r1"), _source("k2", "r2"), _source("k3", "r3")
    kept = replace_rows(table, _rows(table, pinned, 1), pinned)  # a model's training input
    gone = replace_rows(table.refresh(), _rows(table, erased, 2), erased)
    published_at = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    replace_rows(table.refresh(), _rows(table, later, 3), later)
    expire_snapshots(table.refresh(), datetime.now(UTC), keep=frozenset({kept}))
    state = TableState.of(table.refresh())
    assert kept in state.snapshots and gone not in state.snapshots
    entry = LedgerEntry("raw", "matches/k2.csv", "v", "matches", 1, "published", "r2", None,
                        published_at, outputs=[f"{spec.key}@{gone}"])
    assert check_tables([entry], {spec.key: state})["missing_snapshots"] == []


def _scored_points(rng):
    """Anomalies rows shaped as the scorer writes them: 20 teams x 38 matches, a band in
    hundredths of a goal around each point, rounded as ``score_entity`` rounds it."""
    from lakeguard.tables.anomalies import ANOMALIES_SCHEMA

    n = 20 * 38
    centre = rng.normal(0.3, 1.0, n)
    half = rng.uniform(3.0, 6.0, n)
    value = rng.integers(-5, 6, n).astype(float)
    score = np.abs(value - centre) / half
    return pa.table({
        "entity": np.repeat([f"team {i:02d}" for i in range(20)], 38),
        "ts": np.tile(np.arange(38) * 7, 20).astype("datetime64[D]"),
        "value": value, "lower": np.round(centre - half, 2), "upper": np.round(centre + half, 2),
        "score": np.round(score, 2), "is_anomaly": score > 1, "alert": score > 1,
        "reason": np.where(score > 1, "above the expected range", ""),
        "detector": ["range_likelihood"] * n, "model_version": ["v1"] * n,
        "dataset": ["matches"] * n, "season": ["1996-97"] * n,
    }, schema=ANOMALIES_SCHEMA)


def test_anomalies_files_are_written_at_the_tables_own_zstd_level(aws):
    # GIVEN the anomalies table as deploy creates it (its spec, under a name of its own)
    from lakeguard.tables.catalog import glue_catalog
    from lakeguard.tables.spec import ANOMALIES

    spec = dataclasses.replace(ANOMALIES, name="anomalies_level")
    ensure_tables((spec,), NAMES)
    table = glue_catalog().load_table(spec.identifier(NAMES))
    assert table.properties["write.parquet.compression-level"] == "19"
    # WHEN Publish commits a season of scored points
    source = _source("k1", "r1")
    points = _scored_points(np.random.default_rng(7))
    replace_rows(table, with_lineage(points, table.schema().as_arrow(), source), source)
    # THEN its file is zstd and smaller than the same rows at zstd's default level: what
    # every analyst's scan of the table reads (bench/athena_scan.py)
    (task,) = table.refresh().scan().plan_files()
    with table.io.new_input(task.file.file_path).open() as stream:
        published = pq.ParquetFile(pa.BufferReader(stream.read()))
    written = published.metadata
    at_default = pa.BufferOutputStream()
    pq.write_table(published.read(), at_default, compression="zstd")
    default = pq.ParquetFile(pa.BufferReader(at_default.getvalue())).metadata
    assert {written.row_group(0).column(i).compression
            for i in range(written.num_columns)} == {"ZSTD"}
    assert _column_bytes(written) < _column_bytes(default) * 0.97


def _column_bytes(metadata):
    return sum(metadata.row_group(g).column(i).total_compressed_size
               for g in range(metadata.num_row_groups) for i in range(metadata.num_columns))


def test_a_deployed_table_gets_the_properties_its_spec_added_since(aws):
    # GIVEN a table deployed before its spec had properties of its own
    spec, table = _table("props")
    assert "write.parquet.compression-level" not in table.properties
    # WHEN the next deploy ensures the spec with one
    leveled = dataclasses.replace(spec, properties=(("write.parquet.compression-level", "19"),))
    done = ensure_tables((leveled,), NAMES)
    # THEN the table has it (the next files are written with it), and only once
    assert done == {"refined/props": ["set write.parquet.compression-level=19"]}
    assert table.refresh().properties["write.parquet.compression-level"] == "19"
    assert ensure_tables((leveled,), NAMES) == {"refined/props": []}


def test_a_new_property_changes_the_digest_that_makes_deploy_ensure_the_tables():
    from lakeguard.tables.spec import digest

    leveled = dataclasses.replace(SPEC, properties=(("write.parquet.compression-level", "19"),))
    assert digest((leveled,)) != digest((SPEC,))
