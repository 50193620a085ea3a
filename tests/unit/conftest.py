import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


@pytest.fixture
def lake(tmp_path):
    """A tiny exported lake: two seasons of team_matches and their anomalies."""
    matches = [
        ("1996-97", dt.date(1996, 8, 11), "Marseille", "Lyon", "home", 3, 1),
        ("1996-97", dt.date(1997, 5, 24), "Marseille", "Lyon", "away", 0, 8),
        ("1997-98", dt.date(1997, 8, 2), "Marseille", "Metz", "home", 1, 1),
    ]
    for season in ("1996-97", "1997-98"):
        rows = [{"date": d, "team": t, "opponent": o, "home_away": h, "goals_for": f,
                 "goals_against": a, "num_goals_net": f - a, "season": s}
                for s, d, t, o, h, f, a in matches if s == season]
        _write(tmp_path / f"refined/team_matches/season={season}/k-0.parquet", rows)
        scored = [{"entity": r["team"], "ts": r["date"], "value": float(r["num_goals_net"]),
                   "lower": -2.0, "upper": 3.0, "score": abs(r["num_goals_net"] - 0.5) / 2.5,
                   "is_anomaly": r["num_goals_net"] < -2, "alert": r["num_goals_net"] < -2,
                   "reason": "below the lowest value seen before" if r["num_goals_net"] < -2 else "",
                   "model_version": "v1"} for r in rows]
        _write(tmp_path / f"refined/anomalies/dataset=matches/season={season}/k-0.parquet", scored)
    _write(tmp_path / "refined/_staging/run/team_matches/x.parquet", [{"junk": 1}])
    return tmp_path


