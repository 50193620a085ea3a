"""Compaction on moto's Glue and S3: small files of a partition become one, no row changes,
a later version of a key still replaces exactly its rows, and a commit that got in first
makes the compaction give way instead of losing it."""

import warnings

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException, ValidationException

from lakeguard.tables import Names, Source, TableSpec, ensure_tables, replace_rows
from lakeguard.tables.commit import visible_runs, with_lineage
from lakeguard.tables.compaction import COMPACTION_PROPERTY, compact_table
from lakeguard.tables.maintenance import current_files
from lakeguard.tables.spec import LINEAGE

warnings.filterwarnings("ignore", category=UserWarning)
NAMES = Names("c_db", "r_db", "clean-b", "refined-b")  # the iceberg_aws fixture's
SCHEMA = pa.schema([("site", pa.string()), ("absences", pa.int64()), ("month", pa.string()),
                    *LINEAGE])


@pytest.fixture
def table(iceberg_aws, request):
    from lakeguard.tables.catalog import glue_catalog

    spec = TableSpec("refined", f"compact_{request.node.name[-40:].lower()}", SCHEMA,
                     ("month",), "compaction test table")
    ensure_tables((spec,), NAMES)
    return glue_catalog().load_table(spec.identifier(NAMES))


def _publish(table, key, run, month, absences):
    source = Source(run, key, f"absences/{key}.csv", "v", "digest")
    rows = pa.table({"site": [f"site-{key}"] * 3, "absences": [absences] * 3,
                     "month": [month] * 3})
    replace_rows(table.refresh(), with_lineage(rows, table.schema().as_arrow(), source), source)


def _rows(table):
    table.refresh()
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda r: sorted(r.items()))


def test_a_partition_of_many_small_files_becomes_one_and_no_row_changes(table):
    for i in range(6):  # six sites' files into one month
        _publish(table, f"k{i}", f"r{i}", "2024-01", i)
    _publish(table, "other", "r9", "2024-02", 9)  # a month with one file: left alone
    before, files = _rows(table), current_files(table)
    assert len(files) == 7

    done = compact_table(table, min_files=5)

    assert (done.partitions, done.files_before, done.files_after) == (1, 6, 1)
    assert done.bytes_rewritten > 0
    assert _rows(table) == before
    assert len(current_files(table)) == 2
    summary = table.snapshot_by_id(done.snapshot_id).summary.additional_properties
    assert summary[COMPACTION_PROPERTY] == "true" and "lakeguard.run-id" not in summary
    assert compact_table(table.refresh(), min_files=5).snapshot_id is None  # nothing left


def test_a_later_version_replaces_its_rows_inside_a_compacted_file(table):
    for i in range(5):
        _publish(table, f"k{i}", f"r{i}", "2024-01", i)
    compact_table(table, min_files=5)
    _publish(table, "k2", "r2b", "2024-01", 42)
    assert visible_runs(table.refresh()) == {
        **{f"k{i}": {f"r{i}": 3} for i in (0, 1, 3, 4)}, "k2": {"r2b": 3}}
    assert {r["absences"] for r in _rows(table) if r["source_key_id"] == "k2"} == {42}


def test_time_travel_still_reads_the_files_compaction_replaced(table):
    for i in range(5):
        _publish(table, f"k{i}", f"r{i}", "2024-01", i)
    before = table.refresh().current_snapshot().snapshot_id
    compact_table(table, min_files=5)
    assert table.refresh().scan(snapshot_id=before).to_arrow().num_rows == 15


def test_a_publish_that_commits_first_makes_compaction_give_way(table):
    for i in range(5):
        _publish(table, f"k{i}", f"r{i}", "2024-01", i)
    stale = table.refresh()
    from lakeguard.tables.catalog import glue_catalog

    _publish(glue_catalog().load_table(stale.name()), "k5", "r5", "2024-01", 5)
    with pytest.raises((CommitFailedException, ValidationException)):
        compact_table(stale, min_files=5)
    assert len(_rows(table)) == 18  # the publish's rows are all there


def test_a_partition_over_the_run_budget_waits_for_the_next_run(table):
    for i in range(5):
        _publish(table, f"k{i}", f"r{i}", "2024-01", i)
    assert compact_table(table, min_files=5, max_bytes=100).snapshot_id is None
    assert len(current_files(table.refresh())) == 5
