"""What a report covers: the seasons in the data, the team's, and the gaps between them.

A reader of a chart with a hole in it should not have to guess: Marseille has no
matches in 1994-95 and 1995-96 because the club was relegated, and the page says that
those seasons are in the data for other teams but not for Marseille. A season missing
from the data altogether (no file dropped) is a different gap, and is named as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from lakeguard.query import query_local

_COVERAGE_SQL = """
SELECT season, count(*) AS rows, count_if(team = '{entity}') AS entity_matches,
       min(CASE WHEN team = '{entity}' THEN date END) AS first_date,
       max(CASE WHEN team = '{entity}' THEN date END) AS last_date
FROM refined.team_matches
GROUP BY season
ORDER BY season
"""


def season_label(start_year: int) -> str:
    """The football-data label of the season starting in ``start_year``: 1994 -> ``1994-95``."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def _start(season: str) -> int | None:
    head = season[:4]
    return int(head) if head.isdigit() else None


def missing_seasons(present: list[str], first: str, last: str) -> list[str]:
    """Seasons from ``first`` to ``last`` (inclusive) that ``present`` lacks, in order."""
    start, end = _start(first), _start(last)
    if start is None or end is None:
        return []
    have = {_start(s) for s in present}
    return [season_label(year) for year in range(start, end + 1) if year not in have]


@dataclass(frozen=True)
class Coverage:
    """The data a team's report rests on, and its gaps."""

    entity: str
    seasons: tuple[str, ...]            # every season in the data
    entity_seasons: tuple[str, ...]     # the seasons the team played in the data
    entity_matches: int
    first_date: date | None
    last_date: date | None
    not_in_data: tuple[str, ...]        # seasons within the span that no file provided
    entity_absent: tuple[str, ...]      # seasons in the data without the team (e.g. relegation)

    def sentences(self) -> list[str]:
        """The coverage and its gaps in words, one sentence each."""
        if not self.entity_seasons:
            return [f"The data holds no match of {self.entity}."]
        said = [f"{self.entity}: {self.entity_matches:,} matches in {len(self.entity_seasons)} "
                f"season(s), {self.entity_seasons[0]} to {self.entity_seasons[-1]} "
                f"({self.first_date} to {self.last_date}); the data holds {len(self.seasons)} "
                f"season(s), {self.seasons[0]} to {self.seasons[-1]}."]
        if self.entity_absent:
            said.append(f"Gap: no match of {self.entity} in {', '.join(self.entity_absent)}, "
                        "seasons the data holds for other teams: the team was not in this "
                        "league then (relegated, or not yet promoted).")
        if self.not_in_data:
            said.append(f"Gap: no data at all for {', '.join(self.not_in_data)} (no season file "
                        "was published for it).")
        if not self.entity_absent and not self.not_in_data:
            said.append("No season is missing between the first and the last.")
        return said


def coverage(directory: Path, entity: str) -> Coverage:
    """Read the seasons of the exported ``refined.team_matches`` and name the gaps."""
    rows = query_local(directory, _COVERAGE_SQL.format(entity=entity.replace("'", "''"))
                       ).to_pylist()
    seasons = [str(r["season"]) for r in rows]
    played = [r for r in rows if r["entity_matches"]]
    mine = [str(r["season"]) for r in played]
    not_in_data = missing_seasons(seasons, seasons[0], seasons[-1]) if seasons else []
    absent = [s for s in seasons if mine and mine[0] < s < mine[-1] and s not in mine]
    return Coverage(
        entity=entity, seasons=tuple(seasons), entity_seasons=tuple(mine),
        entity_matches=sum(int(r["entity_matches"]) for r in played),
        first_date=played[0]["first_date"] if played else None,
        last_date=played[-1]["last_date"] if played else None,
        not_in_data=tuple(not_in_data), entity_absent=tuple(absent))
