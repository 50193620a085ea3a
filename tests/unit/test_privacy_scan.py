"""The corpus tests' independent scanner: what the lake generates is not personal data."""

from types import SimpleNamespace

from tests.privacy_scan import findings

BORN = SimpleNamespace(cls="birth_date", needles=("010948", "01091948", "19480901"))


def test_a_birth_date_is_found_however_it_is_written():
    for text in ("ne le 01/09/48", "ne le 01.09.1948", "1948-09-01"):
        assert findings({"ledger": text}, [BORN]) == [("ledger", "birth_date")], text


def test_the_lakes_timestamps_are_not_read_as_birth_dates():
    texts = {"ledger": '{"updated_at": "2026-12-07T01:09:48.123456+00:00"}',
             "log": "2026-12-07 01:09:48,222+0000 stage done"}
    assert findings(texts, [BORN]) == []


POSTCODE = SimpleNamespace(cls="postcode_full", needles=("13008",))


def test_iceberg_metadata_numbers_and_uuids_are_not_read_as_a_postcode():
    metadata = ('{"metadata-log" : [ {"timestamp-ms" : 1765130082312, "metadata-file" : '
                '"s3://w/absences_monthly/metadata/00061-3f2a1300-8b2a-4c1e-9d7f-021c514c276f'
                '.metadata.json"} ], "summary" : {"total-records" : "713008"}}')
    assert findings({"refined/metadata.json": metadata}, [POSTCODE]) == []


def test_a_postcode_in_text_or_data_is_still_found():
    for text in ('{"commentaire": "demenage au 13008"}', "code 13 008", '{"cp" : 13008}'):
        assert findings({"clean": text}, [POSTCODE]) == [("clean", "postcode_full")], text
