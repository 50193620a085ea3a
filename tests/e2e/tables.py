"""Read what readers see of a zone's table on the embedded AWS, for assertions."""

import pyarrow as pa

from lakeguard.config import Settings
from lakeguard.tables import read_table


def visible_rows(lake, zone: str, table: str) -> pa.Table:
    """Every row a reader of ``zone``'s ``table`` sees now (the table's current snapshot)."""
    return read_table(Settings.from_outputs(lake.outputs), zone, table)


def team_goals(lake, zone: str, team: str) -> list[int]:
    """Goals of ``team`` at home (clean) or for (refined), sorted."""
    if zone == "clean":
        rows = visible_rows(lake, "clean", "matches").to_pylist()
        return sorted(r["home_goals"] for r in rows if r["home_team"] == team)
    rows = visible_rows(lake, "refined", "team_matches").to_pylist()
    return sorted(r["goals_for"] for r in rows if r["team"] == team)
