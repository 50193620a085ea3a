"""Real CSV, read by the reader the data goes through; failures named without the data.

Valid files used to be refused because the header was split by hand (a byte-order mark,
a quoted header, CR-only line endings), and Arrow's own errors quoted whole raw rows.
"""

import codecs
from pathlib import Path

import pytest

from lakeguard.contracts import load_contract, parse_contract
from lakeguard.exceptions import ValidationFailed
from lakeguard.transforms.csvfile import read_header
from lakeguard.transforms.parse import parse_table

SEASON = (Path(__file__).resolve().parents[2] / "data" / "football" / "ligue1"
          / "2006-07_fr.1.csv").read_bytes()
HEADER = b"Date,Team 1,FT,HT,Team 2"


@pytest.fixture(scope="module")
def matches():
    return load_contract("matches")


def _lines(data=SEASON):
    return data.decode().splitlines()


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda d: codecs.BOM_UTF8 + d, id="byte-order mark"),
        pytest.param(lambda d: "\n".join(",".join(f'"{f}"' for f in line.split(","))
                                         for line in _lines(d)).encode() + b"\n",
                     id="every field quoted"),
        pytest.param(lambda d: d.replace(b"\n", b"\r"), id="CR-only line endings"),
        pytest.param(lambda d: d.replace(b"\n", b"\r\n"), id="CRLF line endings"),
        pytest.param(lambda d: d.rstrip(b"\n"), id="no final line break"),
    ],
)
def test_valid_csv_variants_parse_like_the_original(matches, variant):
    expected, _ = parse_table(SEASON, matches)
    # GIVEN the same season written another valid way
    data = variant(SEASON)
    # WHEN its header is probed as Validate does, and the file parsed
    header = read_header(data[:2000], matches, whole=False)
    table, report = parse_table(data, matches)
    # THEN the header is the contract's and every row is the same
    assert header == HEADER.decode().split(",")
    assert report.rejects == [] and table.drop(["_row"]).equals(expected.drop(["_row"]))


def test_a_latin1_file_names_the_line_the_byte_and_how_to_declare_it(matches):
    # GIVEN a season re-saved in Latin-1 with "Nîmes" on its fourth line
    lines = _lines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], "Nîmes")
    data = ("\n".join(lines) + "\n").encode("latin-1")
    # WHEN parsed, THEN the error names line 4, the byte, cp1252 and the contract field
    with pytest.raises(ValidationFailed) as caught:
        parse_table(data, matches)
    message = str(caught.value)
    assert "line 4" in message and "0xEE" in message and "cp1252" in message
    assert 'encoding = "..."' in message and "datasets/matches.toml" in message
    assert "Nîmes" not in message and "N\\xeemes" not in message
    # AND Validate's probe says the same from the first bytes
    with pytest.raises(ValidationFailed, match="line 4"):
        read_header(data[:5000], matches, whole=False)


def test_a_contract_may_declare_cp1252(matches):
    text = Path("datasets/matches.toml").read_text(encoding="utf-8")
    cp1252 = parse_contract(text.replace('encoding = "utf-8"', 'encoding = "windows-1252"'),
                            "datasets/matches.toml")
    assert cp1252.raw.encoding == "cp1252" and cp1252.raw.java_encoding == "windows-1252"
    data = (HEADER.decode() + "\nSat May 24 1997,Nîmes,8-0,7-0,Saint-Étienne \u2013 ŒA\n").encode("cp1252")
    table, _report = parse_table(data, cp1252)
    assert table["home_team"].to_pylist() == ["Nîmes"]
    assert table["away_team"].to_pylist() == ["Saint-Étienne \u2013 ŒA"]
    # a byte cp1252 leaves undefined fails naming its line
    with pytest.raises(ValidationFailed, match=r"line 3, byte \d+ \(0x81\)"):
        parse_table(data + b"Sat May 24 1997,A\x81,1-0,0-0,B\n", cp1252)


def test_an_encoding_spark_cannot_read_is_a_contract_error():
    text = Path("datasets/matches.toml").read_text(encoding="utf-8")
    with pytest.raises(Exception, match=r"raw\.encoding.*not supported"):
        parse_contract(text.replace('encoding = "utf-8"', 'encoding = "utf-16"'),
                       "datasets/matches.toml")


def test_a_utf16_file_is_named_as_such(matches):
    data = (HEADER.decode() + "\nSat May 24 1997,Lyon,8-0,7-0,Nice\n").encode("utf-16")
    with pytest.raises(ValidationFailed, match="UTF-16"):
        parse_table(data, matches)


PLANTED = ["1 85 05 78 006 084 36", "Dupont", "Jean-Pierre", "1985-05-12", "75011",
           "jean.dupont@example.fr"]


def test_an_unquoted_delimiter_names_the_row_and_counts_not_the_row(matches):
    # GIVEN a row whose away team holds an unquoted comma and personal data
    row = f"Sat May 24 1997,Lyon,8-0,7-0,{','.join(PLANTED)}"
    data = HEADER + b"\n" + "\n".join([*_lines()[1:4], row, *_lines()[4:8]]).encode() + b"\n"
    # WHEN parsed
    with pytest.raises(ValidationFailed) as caught:
        parse_table(data, matches)
    # THEN the message names data row 4 and the field counts, and none of the data
    message = str(caught.value)
    assert "data row(s) 4" in message and "5 fields" in message and "row 4 has 10" in message
    assert not any(p in message for p in PLANTED) and "Lyon" not in message
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_a_file_without_its_header_is_refused_without_quoting_its_first_row(matches):
    data = "\n".join(",".join(PLANTED[:5]) for _ in range(3)).encode() + b"\n"
    with pytest.raises(ValidationFailed) as caught:
        parse_table(data, matches)
    message = str(caught.value)
    assert "header missing?" in message and "position(s) [1, 2, 3, 4, 5]" in message
    assert not any(p in message for p in PLANTED)


def test_a_header_longer_than_the_probe_is_refused_clearly(matches):
    with pytest.raises(ValidationFailed, match="no line break"):
        read_header(b"x" * 65536, matches, whole=False)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(__import__("gzip").compress(SEASON), "gzip-compressed", id="gzip"),
        pytest.param(b"PAR1\x15\x04\x15\xc8\x01\x15\xc8\x01" + bytes(range(256)), "Parquet",
                     id="parquet"),
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xe9\x8f" + bytes(200), "ZIP archive",
                     id="xlsx"),
    ],
)
def test_a_file_that_is_not_text_is_named_for_what_it_is(matches, data, words):
    with pytest.raises(ValidationFailed, match=words):
        parse_table(data, matches)


def test_a_row_longer_than_a_block_is_refused_without_its_text(matches):
    data = HEADER + b"\nDupont" + b"x" * 10_000_000 + b"\n"
    with pytest.raises(ValidationFailed, match="longer than 4 MB") as caught:
        parse_table(data, matches)
    assert "Dupont" not in str(caught.value)
