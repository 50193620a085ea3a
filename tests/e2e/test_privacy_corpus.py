"""The adversarial corpus through the deployed pipeline: every class, every zone, scanned.

One month of generated declarations carries every class of issue 16 (lakeguard.samples
.adversarial). It is dropped into the embedded lake, whose pseudonymisation key is fixed
first (as ``LAKEGUARD_LOCAL_PSEUDONYM_KEY`` does at start). Then an independent scanner
(tests/privacy_scan.py) reads everything the run left: clean and refined Parquet, the
artefacts bucket, quarantine reports, the ledger, the Step Functions history, the
functions' logs and the run's reason. The Glue path gets the same file once.
Assertions name classes and counts, never values.
"""

import hashlib
import hmac
import io
import json
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakeguard.aws import client
from lakeguard.identifiers.nir import canonical
from lakeguard.local.runtime import fix_pseudonym_key
from lakeguard.samples.absences import generate
from lakeguard.samples.adversarial import plant
from tests.privacy_scan import findings

from .deployed import routed_to_glue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FIXED_KEY = "corpus-key-0123456789abcdef0123456789"
QUASI = ["age_band", "departement", "site", "month", "duration_days"]


def _corpus(seed):
    base = generate(4000, seed=seed, first=date(2025, 3, 1), days=31)
    return plant(base, seed=seed)


def _bodies(bucket, prefix=""):
    s3 = client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"], s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()


#: Iceberg manifests (Avro) are binary: read as text, their bytes hold chance matches of a
#: two-letter name. What they say of the data (column bounds) comes from the data files,
#: which are scanned; the metadata JSON files are scanned too.
_BINARY = (".avro",)


CELL_GAP = "\n----\n"


def _as_text(key, body):
    if key.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(body))
        keep = [c for c in table.column_names if c != "person_id"]  # HMACs: hex, not text
        # cells apart by more than the scanner's digit joiner bridges (three characters):
        # digits of neighbouring numbers (an anomaly's bounds) must not make a date together
        return CELL_GAP.join(str(v) for c in keep for v in table[c].to_pylist() if v is not None)
    return body.decode("latin-1")


#: Other datasets' tables and artefacts share the session's lake; their numbers and Iceberg
#: metadata read as text hold chance matches of short planted values ("Li", "75011").
_OTHER_DATASETS = ("matches", "absenteeism", "customers")


def _ours(zone, key):
    """Whether an absences run can have written ``key``: its tables, its artefacts."""
    if zone == "clean":
        return key.startswith("absences/")
    if zone == "refined":
        return key.startswith(("absences_monthly/", "site_absences_monthly/")) or (
            key.startswith("anomalies/") and "dataset=absences" in key)
    return not any(f"/{dataset}/" in key for dataset in _OTHER_DATASETS)


def everything(lake, results):
    """Every text the run left outside the raw zone, by where it was found."""
    texts = {}
    for zone in ("clean", "refined", "artefacts"):
        for key, body in _bodies(lake.bucket(zone)):
            if _ours(zone, key) and not key.endswith(_BINARY):
                texts[f"{zone}/{key}"] = _as_text(key, body)
    for key, body in _bodies(lake.bucket("quarantine")):
        if key.endswith(".json"):  # the object itself is the raw file, kept for operators
            texts[f"quarantine/{key}"] = body.decode("utf-8")
    ledger = client("dynamodb").scan(TableName=lake.outputs["LedgerTableName"])["Items"]
    texts["ledger"] = json.dumps(ledger)
    arn = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    for result in results:
        events = client("stepfunctions").get_execution_history(
            executionArn=f"{arn}:{result.run_id}", maxResults=1000)["events"]
        texts[f"history/{result.run_id}"] = json.dumps(events, default=str)
        texts[f"reason/{result.run_id}"] = result.reason or ""
    runs = {result.run_id for result in results}
    for log in lake.functions.logs.glob("*.log"):
        texts[f"log/{log.name}"] = _lines_of(log, runs)
    return texts


def _lines_of(log, runs):
    """A function's log without the lines other runs wrote, and without the logger's clock.

    The file holds the whole session's invocations; their timestamps and counts, joined into
    digit runs by the scanner, end up holding any eight-digit date by chance once the session
    is long enough. Lines of other runs are their own tests' to scan; every other line (this
    run's, and any line naming no run) is scanned whole, but for its timestamp.
    """
    kept = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        if not isinstance(record, dict):
            kept.append(line)
            continue
        if record.get("run_id") not in (None, *runs):
            continue
        record.pop("timestamp", None)
        kept.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(kept)


@pytest.fixture(scope="module")
def corpus_run(lake, tmp_path_factory):
    # GIVEN a fixed key and a file carrying every class
    version = fix_pseudonym_key(lake.outputs["PseudonymSecretArn"], FIXED_KEY)
    text, cases = _corpus(1616)
    path = tmp_path_factory.mktemp("corpus") / "absences_2025-03.csv"
    path.write_text(text, encoding="utf-8")
    # WHEN it is dropped
    result = lake.drop(path, "absences/")
    return result, text, cases, version


def test_the_corpus_file_is_published_not_quarantined(corpus_run):
    result, _, cases, _ = corpus_run
    assert result.outcome == "published", (result.reason or "")[:300]
    rejected = [c for c in cases if c.expect == "rejected"]
    assert result.rows_rejected >= len(rejected)


def test_no_planted_identifier_is_found_anywhere(lake, corpus_run):
    result, _, cases, _ = corpus_run
    found = findings(everything(lake, [result]), cases)
    where = sorted({(w.split("/")[0], cls) for w, cls in found})
    assert not found, f"{len(found)} hit(s): {where[:20]}"


def test_every_published_class_holds_k_people_and_l_chapters(lake, corpus_run):
    # every data file, current or not, whoever wrote it (pyiceberg or Spark: string types differ)
    clean = pa.concat_tables([pq.read_table(io.BytesIO(body)) for key, body in
                              _bodies(lake.bucket("clean"), "absences/")
                              if key.endswith(".parquet")], promote_options="permissive")
    classes = clean.group_by(QUASI).aggregate([("person_id", "count_distinct"),
                                               ("reason", "count_distinct")])
    assert pc.min(classes["person_id_count_distinct"]).as_py() >= 5
    assert pc.min(classes["reason_count_distinct"]).as_py() >= 2


def test_pseudonyms_follow_the_fixed_key_so_local_runs_are_reproducible(lake, corpus_run):
    result, text, _, version = corpus_run
    nirs = [line.split(";")[0] for line in text.splitlines()[1:]]
    expected = {hmac.new(FIXED_KEY.encode(), n.encode(), hashlib.sha256).hexdigest()[:32]
                for n in canonical(pa.array(nirs)).to_pylist()}
    clean = lake.rows("clean", "absences")  # other tests' files are there too
    mine = clean.filter(pc.equal(clean["run_id"], result.run_id))
    published = set(mine["person_id"].to_pylist())
    assert published and published <= expected
    audit = json.loads(client("s3").get_object(
        Bucket=lake.bucket("artefacts"), Key=f"audit/absences/{result.run_id}.json")["Body"].read())
    assert audit["pseudonym_key_version"] == version
    assert audit["k_anonymity"]["counted_in"].startswith("people")  # of the published table
    assert audit["l_diversity"]["achieved"] >= 2
    assert FIXED_KEY not in json.dumps(audit)


def test_the_glue_path_redacts_the_corpus_the_same_way(lake, tmp_path):
    # GIVEN the Lambda path's limit lowered so the file goes to the Glue anonymise job
    text, cases = _corpus(2626)
    path = tmp_path / "absences_2025-04.csv"
    path.write_text(text, encoding="utf-8")
    with routed_to_glue():
        result = lake.drop(path, "absences/")
    # THEN it is published, and nothing planted is found anywhere
    assert result.outcome == "published", (result.reason or "")[:300]
    found = findings(everything(lake, [result]), cases)
    assert not found, f"{len(found)} hit(s): {sorted({cls for _, cls in found})}"
