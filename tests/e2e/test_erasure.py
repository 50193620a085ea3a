"""Complete erasure on the embedded lake: every key version, unparsed files, other people's
comments, the ledger, and a dry run from the command line first.

GIVEN one person (the subject) published in a file under one key version, published again
in a second file after a key rotation, held in a third file that was quarantined (bad
dates, so it never parsed), and named in a fourth file's comment where they are not a
row; WHEN `lakeguard erase --dry-run` then `erase` run; THEN nothing of them is left.
Assertions name counts and keys, never the NIR or the name.
"""

import csv
import io
import json
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakeguard.aws import client
from lakeguard.cli import main
from lakeguard.config import Settings
from lakeguard.erasure import erase
from lakeguard.identifiers.nir import canonical
from lakeguard.privacy.pseudonym import load_key
from lakeguard.samples.absences import HEADER, generate

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _clean(lake):
    """The absences rows readers see (the table's current snapshot)."""
    return lake.rows("clean", "absences")


def _rows(text):
    """Data rows as fields (a job title may hold a quoted ';')."""
    return list(csv.reader(io.StringIO(text), delimiter=";"))[1:]


def _file(rows):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows([HEADER, *rows])
    return out.getvalue()


@pytest.fixture(scope="module")
def scenario(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("erasure")
    secret = lake.outputs["PseudonymSecretArn"]
    first = generate(3000, seed=707, first=date(2025, 6, 1), days=30)
    key = load_key(secret)
    published = lake.drop(_write(folder / "absences_2025-06.csv", first), "absences/")
    assert published.outcome == "published", published.reason
    clean = set(_clean(lake)["person_id"].to_pylist())
    rows = _rows(first)
    pseudonyms = key.pseudonymise(canonical(pa.array([r[0] for r in rows]))).to_pylist()
    subject = next(r for r, p in zip(rows, pseudonyms, strict=True) if p in clean)
    # the key rotates; the same person is published again a year later
    client("secretsmanager").put_secret_value(SecretId=secret, SecretString="rotated-" + "x" * 40)
    again = [r for r in rows if r[0] == subject[0]] + rows[:2000]
    july = [[*r[:8], *(_a_year_later(d) for d in r[8:10]), *r[10:]] for r in again]
    second = lake.drop(_write(folder / "absences_2026-06.csv", _file(july)), "absences/")
    assert second.outcome == "published", second.reason
    # a file holding their row with bad dates is quarantined whole
    broken = [[*subject[:8], "06/31/2025", "07/02/2025", *subject[10:]], rows[5], rows[6]]
    quarantined = lake.drop(_write(folder / "absences_broken.csv", _file(broken)), "absences/")
    assert quarantined.outcome == "quarantined"
    # another file (without them) names them in a comment
    other = _rows(generate(2000, seed=808, first=date(2025, 8, 1), days=31))
    other = [r for r in other if r[1] != subject[1]]
    for row in other[:300]:  # some of these rows fall in classes too small to publish
        row[-1] = f"remplace {subject[1]} absent"
    named = lake.drop(_write(folder / "absences_2025-08.csv", _file(other)), "absences/")
    assert named.outcome == "published", named.reason
    return subject, [published, second, quarantined, named]


def _a_year_later(day):
    """The same day a year later (an absence ending in 2026 moves to 2027 with its start)."""
    when = date.fromisoformat(day)
    return str(when.replace(year=when.year + 1, day=min(when.day, 28 if when.month == 2 else 31)))


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_dry_run_lists_what_would_change_and_changes_nothing(lake, scenario, capsys):
    subject, _ = scenario
    before = _clean(lake).num_rows
    prefix = lake.stacks[0].name.rsplit("-", 1)[0] + "-"
    assert main(["erase", "--dataset", "absences", "--subject", subject[0], "--dry-run",
                 "--stack-prefix", prefix]) == 0
    printed = capsys.readouterr().out
    assert "would erase" in printed and "raw object versions deleted: " in printed
    assert subject[0] not in printed and subject[1] not in printed
    assert _clean(lake).num_rows == before


def test_erasure_is_complete_across_keys_unparsed_files_comments_and_ledger(lake, scenario):
    subject, results = scenario
    settings = Settings.from_outputs(lake.outputs)
    report = erase("absences", subject[0], settings, lake.outputs["PseudonymSecretArn"])
    # every key version was searched, and rows under both were found
    assert len(report.pseudonyms) >= 2
    clean = _clean(lake)
    assert not pc.any(pc.is_in(clean["person_id"], value_set=pa.array(
        list(report.pseudonyms.values())))).as_py()
    assert report.clean_rows_removed >= 2
    # their name is gone from the comment of a file they were not in
    assert report.free_text_cells_redacted >= 1
    words = {w for c in clean["comment"].to_pylist() if c for w in c.split()}
    assert subject[1].lower() not in words
    # the quarantined file (never parsed) is gone from raw and quarantine
    broken = results[2]
    assert any("absences_broken.csv" in v for v in report.raw_versions_deleted)
    assert report.quarantine_objects_deleted
    assert not any(v["Key"].endswith("absences_broken.csv") for v in client("s3")
                   .list_object_versions(Bucket=lake.bucket("raw"), Prefix="absences/")
                   .get("Versions", []))
    # the ledger keeps the objects' fate, not what their reasons said
    ledger = client("dynamodb").scan(TableName=lake.outputs["LedgerTableName"])["Items"]
    entry = next(e for e in ledger if e["run_id"]["S"] == broken.run_id)
    assert entry["reason"]["S"].startswith("purged by erasure")
    audit = json.loads(client("s3").get_object(Bucket=lake.bucket("artefacts"),
                                               Key=report.audit)["Body"].read())
    assert subject[0] not in json.dumps(audit) and len(audit["pseudonyms"]) >= 2
