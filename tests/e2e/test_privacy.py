"""GDPR end to end on the embedded AWS: 10,000 generated absences raw -> clean -> refined,
with no personal value anywhere downstream, k >= 5, an audit record, and an erasure."""

import csv
import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.erasure import erase
from lakeguard.identifiers.nir import canonical
from lakeguard.privacy.pseudonym import load_key
from lakeguard.samples.absences import generate

from .deployed import routed_to_glue

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _objects(bucket, prefix=""):
    s3 = client("s3")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]
    return {k: pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
            for k in keys if k.endswith(".parquet")}


@pytest.fixture(scope="module")
def absences(lake, tmp_path_factory):
    # GIVEN a generated DSN-style file of 10,000 absences with names, NIRs and birth dates
    path = tmp_path_factory.mktemp("abs") / "absences_2024-12.csv"
    path.write_text(generate(10_000, seed=11))
    rows = list(csv.DictReader(io.StringIO(path.read_text()), delimiter=";"))
    # WHEN it is dropped into the raw bucket
    result = lake.drop(path, "absences/")
    return path, rows, result


def test_file_is_published_with_k_anonymity_and_counted_rejects(absences):
    _, _, result = absences
    assert result.status == "SUCCEEDED", result.reason
    assert result.k_achieved >= 5
    assert result.rows_rejected >= 1  # mistyped NIR keys, reported not silently dropped
    assert result.rows_in == 10_000
    assert result.rows_out == 10_000 - result.rows_rejected - result.rows_suppressed


def test_no_personal_value_reaches_clean_or_refined(lake, absences):
    _, rows, _ = absences
    nirs = {r["nir"] for r in rows} | set(canonical(pa.array([r["nir"] for r in rows])).to_pylist())
    names = {r["nom"] for r in rows} | {r["prenom"] for r in rows}
    births = {r["date_naissance"] for r in rows}
    tables = {**_objects(lake.bucket("clean"), "absences/"),
              **_objects(lake.bucket("refined"), "absences_monthly/"),
              **_objects(lake.bucket("refined"), "site_absences_monthly/"),
              **_objects(lake.bucket("refined"), "anomalies/data/dataset=absences/")}
    assert any(k.startswith("absences/data/") for k in tables)
    assert any(k.startswith("absences_monthly/data/") for k in tables)
    assert any(k.startswith("anomalies/data/dataset=absences/") for k in tables)
    for key, table in tables.items():
        for column in table.column_names:
            values = {str(v) for v in table[column].to_pylist() if v is not None}
            words = {w for v in values for w in v.replace("-", " ").split()}
            # Counts only in messages: a failing test must not print the values it found.
            assert not values & nirs, f"{len(values & nirs)} NIR(s) in {key}:{column}"
            leaked = (values | words) & names
            assert not leaked, f"{len(leaked)} name(s) in {key}:{column}"
            assert not values & births, f"{len(values & births)} birth date(s) in {key}:{column}"


def test_clean_rows_are_k_anonymous_on_the_quasi_identifiers(lake, absences):
    clean = pa.concat_tables(_objects(lake.bucket("clean"), "absences/").values())
    sizes = clean.group_by(["age_band", "departement", "site"]).aggregate([([], "count_all")])
    assert min(sizes["count_all"].to_pylist()) >= 5


def test_audit_record_explains_the_run(lake, absences):
    _, _, result = absences
    s3 = client("s3")
    body = s3.get_object(Bucket=lake.bucket("artefacts"),
                         Key=f"audit/absences/{result.run_id}.json")["Body"].read().decode()
    import json

    audit = json.loads(body)
    assert audit["contract"]["name"] == "absences" and len(audit["contract"]["sha256"]) == 64
    assert audit["pseudonym_key_version"] and len(audit["source"]["sha256"]) == 64
    assert audit["rows"]["in"] == 10_000 and audit["k_anonymity"]["achieved"] >= 5
    assert audit["clean_objects"] == [f"clean/absences@{audit['snapshots']['clean/absences']}"]
    assert audit["refined_objects"]
    rows = absences[1]
    assert not any(r["nir"] in body or r["nom"] in body for r in rows)


def test_erasure_removes_one_person_everywhere_and_is_audited(lake, absences):
    _, rows, _ = absences
    # a person whose rows were published (classes of fewer than 5 people were not)
    key = load_key(lake.outputs["PseudonymSecretArn"])
    published = set(pa.concat_tables(_objects(lake.bucket("clean"), "absences/").values())
                    ["person_id"].to_pylist())
    nirs = [r["nir"] for r in rows]
    pseudonyms = key.pseudonymise(canonical(pa.array(nirs))).to_pylist()
    subject = next(n for n, p in zip(nirs, pseudonyms, strict=True) if p in published)
    settings = Settings.from_outputs(lake.outputs)
    # WHEN the person asks to be forgotten
    report = erase("absences", subject, settings, lake.outputs["PseudonymSecretArn"])
    # THEN their rows are gone from clean, from every file left in S3 (every version, old
    # snapshots expired), the raw version holding them is deleted, and the audit names the
    # pseudonym and counts, not the NIR
    assert report.clean_rows_removed >= 1
    for key, table in _objects(lake.bucket("clean"), "absences/").items():
        assert report.pseudonym not in table["person_id"].to_pylist(), key
    versions = client("s3").list_object_versions(Bucket=lake.bucket("clean"),
                                                 Prefix="absences/data/").get("Versions", [])
    assert all(v["IsLatest"] for v in versions)  # no noncurrent copy of an erased file
    assert report.purged
    assert report.raw_versions_deleted
    path, _, _ = absences  # (other modules leave absences files of other people in raw)
    versions = client("s3").list_object_versions(Bucket=lake.bucket("raw"),
                                                 Prefix=f"absences/{path.name}")
    assert not versions.get("Versions", [])
    assert report.refined_objects
    audit = client("s3").get_object(Bucket=lake.bucket("artefacts"), Key=report.audit)
    text = audit["Body"].read().decode()
    assert report.pseudonym in text and subject not in text


def test_objects_above_the_lambda_limit_go_through_the_glue_anonymise_job(lake, tmp_path):
    # GIVEN an operator lowering the Lambda path's size limit to 1 KB
    with routed_to_glue():
        path = tmp_path / "absences_2025-01.csv"
        path.write_text(generate(2000, seed=21))
        # WHEN the file is dropped
        result = lake.drop(path, "absences/")
    # THEN the Glue job anonymised it (Route chose CleanLarge) and it was published
    assert result.status == "SUCCEEDED", result.reason
    assert result.k_achieved >= 5 and result.rows_in == 2000
    arn = lake.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    events = client("stepfunctions").get_execution_history(
        executionArn=f"{arn}:{result.run_id}", maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events
               if "stateEnteredEventDetails" in e]
    assert "CleanLarge" in entered and "Clean" not in entered


def test_a_leaking_policy_is_quarantined_by_the_leak_guard(lake, tmp_path):
    # GIVEN the absences contract deployed edited to keep the NIR in clear (a review miss)
    from pathlib import Path

    from tests.e2e.deployed import code_changed

    source = Path(__file__).resolve().parents[2] / "datasets" / "absences.toml"
    leaky = source.read_text().replace('policy = "pseudonymise"', 'policy = "keep"', 1).replace(
        'subject = "person_id"\n', "")
    path = tmp_path / "absences_2025-02.csv"
    path.write_text(generate(2000, seed=31, first=date(2025, 2, 1), days=28))
    # WHEN a file arrives
    with code_changed(lake, "clean", {"datasets/absences.toml": leaky.encode()}):
        result = lake.drop(path, "absences/")
    # THEN it is quarantined by the leak guard and nothing of it reached clean
    assert result.outcome == "quarantined"
    assert result.reason.startswith("LeakDetected") and "NIR" in result.reason
    report = lake.quarantine_report(result.run_id)
    assert report["failed_stage"] == "clean"
    staged = client("s3").list_objects_v2(Bucket=lake.bucket("clean"),
                                          Prefix=f"_staging/{result.run_id}/")
    assert staged.get("KeyCount", 0) == 0
