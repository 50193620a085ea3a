"""The corpus tests' independent scanner: the lake's own clock is not a birth date."""

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
