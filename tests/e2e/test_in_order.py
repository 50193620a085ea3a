"""Files dropped ahead (``LocalLake.drop_in_order``, as ``lakeguard demo`` drops its seasons)
end as they would dropped one by one, on the embedded AWS.

GIVEN three seasons of one team dropped one by one, and the same seasons of a twin team
(same scores, another name) dropped two ahead while the first season's Refine is slowed,
so that the later seasons reach the models before the first one is published, WHEN both
have run, THEN the twin's anomalies and model versions are the first team's: each run's
models saw exactly the seasons before it.
"""

import datetime as dt
import random
import time

import pytest

from lakeguard.local import gaps
from lakeguard.local.faults import Fault
from lakeguard.local.ordering import stage_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEASONS = (2001, 2002, 2003)


def _season(path, year, team, seed):
    """A season of ``team``'s home games; the goals differ from season to season."""
    rng = random.Random(seed)
    lines = ["Date,Team 1,FT,HT,Team 2"]
    for i in range(40):
        day = dt.date(year, 8, 1) + dt.timedelta(days=i)
        goals = rng.choice([0, 1, 1, 2, 2, 3]) + (4 if year == SEASONS[1] and i % 9 == 0 else 0)
        lines.append(f"{day.strftime('%a %b %d %Y').replace(' 0', ' ')},{team},{goals}-1,,"
                     f"{team}Rival")
    path.write_text("\n".join(lines) + "\n")
    return path


def _seasons(folder, team):
    folder.mkdir()
    return [_season(folder / f"{y}-{str(y + 1)[2:]}_fr.1.csv", y, team, y) for y in SEASONS]


def _slow_refine(name: str, seconds: float) -> Fault:
    def fault(handler, event):
        if handler == "lambdas.refine.handler" and event.get("key", "").endswith(name):
            time.sleep(seconds)
    return fault


def _anomalies(lake, team):
    rows = lake.rows("refined", "anomalies").to_pylist()
    return sorted((r["ts"], r["value"], r["lower"], r["upper"], r["score"], r["is_anomaly"],
                   r["season"]) for r in rows if r["entity"] == team)


def _versions(lake, team):
    from lakeguard.config import Settings
    from lakeguard.ml import registry
    from lakeguard.ml.store import S3Store

    store = S3Store(Settings.from_outputs(lake.outputs).artefacts_bucket)
    return [(v["metrics"], v["aliases"]) for v in registry.versions(store, "matches", team)]


def test_seasons_dropped_ahead_get_the_models_of_seasons_dropped_one_by_one(lake, tmp_path):
    one_by_one = [lake.drop(p, "matches/in-order/one/") for p in _seasons(tmp_path / "a", "Ordoa")]
    ahead = _seasons(tmp_path / "b", "Ordob")
    answered = []  # (stage, file) as each invocation of the twin's runs answers
    gaps.INVOKED_HOOKS.append(lambda handler, event, _: answered.append(
        (stage_of(handler), event.get("key", "").rsplit("/", 1)[-1]))
        if "in-order/ahead/" in event.get("key", "") else None)
    try:
        with lake.inject(_slow_refine(f"in-order/ahead/{ahead[0].name}", 6.0)):
            dropped = list(lake.drop_in_order(ahead, "matches/in-order/ahead/", ahead=2))
    finally:
        gaps.INVOKED_HOOKS.pop()
    assert [r.outcome for r in one_by_one + dropped] == ["published"] * 6
    first, second, third = (p.name for p in ahead)
    # the later seasons were refined while the first was slowed, and then held: every
    # model stage and Publish of a season answered before the next season's first one
    assert answered.index(("refine", second)) < answered.index(("refine", first))
    assert answered.index(("refine", third)) < answered.index(("refine", first))
    held = [(stage, name) for stage, name in answered
            if stage in ("check_model", "train", "score", "publish")]
    assert [name for _, name in held] == sorted((name for _, name in held),
                                                key=[first, second, third].index)
    # and they got what one by one gave: the same bands, scores and model versions
    expected = _anomalies(lake, "Ordoa")
    assert expected, "the one-by-one seasons were scored"
    assert _anomalies(lake, "Ordob") == expected
    assert _versions(lake, "Ordob") == _versions(lake, "Ordoa")
