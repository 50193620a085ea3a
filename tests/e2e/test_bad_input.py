"""Bad input on the embedded AWS: each file ends quarantined with a machine-readable reason,
the good file beside them still publishes, and the ledger accounts for all of them."""

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeguard.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"
SEASON = SEASONS / "2006-07_fr.1.csv"
#: The formula goes into another season: files repeating good.csv's matches would be
#: published without them (the matches contract's natural key).
FORMULA_SEASON = SEASONS / "2002-03_fr.1.csv"
INJECTION = "=cmd|' /C calc'!A0"


def _files():
    good = SEASON.read_bytes()
    header, *rows = good.decode().splitlines()

    def text(lines):
        return ("\n".join(lines) + "\n").encode()

    parquet = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), parquet)
    first = rows[0].split(",")
    formula_header, *formula_rows = FORMULA_SEASON.read_text().splitlines()
    formula_first = formula_rows[0].split(",")
    return {
        # name: (bytes, expected outcome, words the reason must contain)
        "empty.csv": (b"", "quarantined", "empty"),
        "header_only.csv": (text([header]), "quarantined", "no valid data rows"),
        "semicolons.csv": (text([r.replace(",", ";") for r in [header, *rows]]), "quarantined",
                           "missing required column"),
        "missing_column.csv": (text([",".join(r.split(",")[:2] + r.split(",")[3:])
                                     for r in [header, *rows]]), "quarantined",
                               "missing required column(s) ['FT']"),
        "extra_column.csv": (text([header + ",Referee", *(r + ",X" for r in rows)]),
                             "quarantined", "unknown column(s) at position(s) [6]"),
        "wrong_types.csv": (text([header, *(r.replace(r.split(",")[0], "not a date", 1)
                                            for r in rows)]), "quarantined", "not a valid date"),
        "latin1.csv": ((header + "\n" + rows[0].replace(first[1], first[1] + "é") + "\n")
                       .encode("latin-1"), "quarantined", "line 2, byte"),
        "nul_bytes.csv": (text([header, rows[0]]) + b"\x00\x00" + text(rows[1:5]), "quarantined",
                          "rows break contract"),
        "one_10mb_line.csv": (text([header, "x" * 10_000_000]), "quarantined",
                              "longer than 4 MB"),
        "truncated.csv.gz": (gzip.compress(good)[:200], "quarantined", "gzip-compressed"),
        "wrong_schema.parquet": (parquet.getvalue(), "quarantined", "Parquet file"),
        "too_large.csv": (text([header, *(rows * 800)]), "quarantined", "raw.max_bytes"),
        "duplicated_header.csv": (text([header, header, *rows]), "quarantined",
                                  "rows break contract"),
        "bad_rows_beyond_ratio.csv": (text([header, *(r.replace("-", " to ", 1) if i % 2 else r
                                                      for i, r in enumerate(rows))]),
                                      "quarantined", "tolerated"),
        "formula.csv": (text([formula_header,
                              formula_rows[0].replace(formula_first[1], INJECTION),
                              *formula_rows[1:]]), "published", None),
        "good.csv": (good, "published", None),
    }


FILES = _files()


@pytest.fixture(scope="module")
def runs(lake, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    submitted = {}
    for name, (data, _, _) in FILES.items():  # dropped together, as a producer's batch
        path = folder / name
        path.write_bytes(data)
        submitted[name] = lake.submit(path, "matches/bad-input/")
    return {name: lake.wait(s) for name, s in submitted.items()}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_ends_published_or_quarantined_with_its_reason(lake, runs, name):
    _, outcome, words = FILES[name]
    result = runs[name]
    assert result.outcome == outcome, result.reason
    if outcome == "quarantined":
        report = lake.quarantine_report(result.run_id)
        assert report["reason"]["error"] in {"ValidationFailed", "QualityGateFailed"}
        assert words in report["reason"]["message"], report["reason"]["message"][:300]
        assert report["source"]["key"] == f"matches/bad-input/{name}"


def test_a_formula_reaches_refined_as_text(lake, runs):
    rows = lake.rows("refined", "team_matches")
    teams = {t for t, s in zip(rows["team"].to_pylist(), rows["season"].to_pylist(), strict=True)
             if s == "2002-03"}
    assert "'" + INJECTION in teams and INJECTION not in teams
    assert not any(t.startswith(("=", "+", "-", "@")) for t in teams)


def test_the_ledger_accounts_for_every_bad_and_good_file(runs, capsys):
    assert main(["ledger", "--json"]) == 0
    entries = {e["key"]: e for e in json.loads(capsys.readouterr().out)}
    for name, (_, outcome, _) in FILES.items():
        entry = entries[f"matches/bad-input/{name}"]
        assert entry["state"] == outcome
        assert (entry["reason"] is None) == (outcome == "published")
    assert main(["ledger", "check"]) == 0
