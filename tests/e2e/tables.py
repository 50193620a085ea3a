"""Read what readers see of a zone's table on the embedded AWS, for assertions."""


def team_goals(lake, zone: str, team: str) -> list[int]:
    """Goals of ``team`` at home (clean) or for (refined), sorted."""
    if zone == "clean":
        rows = lake.rows("clean", "matches").to_pylist()
        return sorted(r["home_goals"] for r in rows if r["home_team"] == team)
    rows = lake.rows("refined", "team_matches").to_pylist()
    return sorted(r["goals_for"] for r in rows if r["team"] == team)
