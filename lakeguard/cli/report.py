"""The analyst's view of one team: its anomalous matches, a plot and a standalone HTML page.

Everything is read from an exported lake with the same SQL an analyst would run in Athena.
The anomalies come most severe first, each with its expected range and the detector's
sentence saying why it is unusual, under the rate of flags to expect across every team:
a reader sees at once whether a flagged match is a rare event or one of the routine big
wins that any model flags now and then.
"""

from __future__ import annotations

import base64
import html
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from lakeguard.query import query_local

_SERIES_SQL = """
SELECT m.date, m.season, m.home_away, m.opponent, m.goals_for, m.goals_against,
       m.num_goals_net, a.lower, a.upper, a.score, a.is_anomaly
FROM refined.team_matches m
JOIN refined.anomalies a
  ON a.dataset = 'matches' AND a.entity = m.team AND a.ts = m.date
WHERE m.team = '{entity}'
ORDER BY m.date
"""

_ANOMALIES_SQL = """
SELECT m.date, m.season, m.home_away, m.opponent,
       CAST(m.goals_for AS VARCHAR) || '-' || CAST(m.goals_against AS VARCHAR) AS result,
       m.num_goals_net AS net_goals, ROUND(a.score, 2) AS anomaly_score,
       CAST(ROUND(a.lower, 1) AS VARCHAR) || ' to ' || CAST(ROUND(a.upper, 1) AS VARCHAR)
           AS expected,
       a.model_version,
       a.reason AS why
FROM refined.team_matches m
JOIN refined.anomalies a
  ON a.dataset = 'matches' AND a.entity = m.team AND a.ts = m.date
WHERE m.team = '{entity}' AND a.is_anomaly
ORDER BY a.score DESC, m.date
"""

_RATE_SQL = """
SELECT count(*) AS points, count_if(a.is_anomaly) AS flagged,
       count_if(a.entity = '{entity}') AS entity_points,
       count_if(a.entity = '{entity}' AND a.is_anomaly) AS entity_flagged
FROM refined.anomalies a
WHERE a.dataset = 'matches'
"""


@dataclass(frozen=True)
class ReportPaths:
    """Where the report was written."""

    html: Path
    png: Path


@dataclass(frozen=True)
class AlertRate:
    """How often the model flags a match: across every team (what to expect), and for one."""

    points: int
    flagged: int
    entity_points: int
    entity_flagged: int

    def sentence(self, entity: str) -> str:
        """The rate in words, e.g. "... 1 match in 58 (1.7%) ...", or that nothing was flagged."""
        if not self.flagged:
            return f"The model flagged none of the {self.points:,} matches it scored."
        return (f"The model flags {self.flagged:,} of the {self.points:,} matches it scored across "
                f"every team, 1 in {self.points / self.flagged:,.0f} "
                f"({self.flagged / self.points:.1%}): that is the rate to expect. {entity}: "
                f"{self.entity_flagged:,} of {self.entity_points:,}, most severe first below.")


def _quoted(entity: str) -> str:
    return entity.replace("'", "''")


def entities(directory: Path) -> list[str]:
    """Every team of the exported lake, as the data spells it (to resolve ``--entity``)."""
    found = query_local(directory, "SELECT DISTINCT team FROM refined.team_matches ORDER BY team")
    return [str(team) for team in found.column("team").to_pylist() if team is not None]


def entity_anomalies(directory: Path, entity: str) -> pa.Table:
    """The team's anomalous matches, most severe first.

    Columns: date, season, home/away, opponent, result (the match score), net goals,
    anomaly score (distance from the expected range's centre in half-widths), the expected
    range, the model version that scored it, and why.
    """
    return query_local(directory, _ANOMALIES_SQL.format(entity=_quoted(entity)))


def alert_rate(directory: Path, entity: str) -> AlertRate:
    """The share of scored matches flagged, over every team and for ``entity``."""
    row = query_local(directory, _RATE_SQL.format(entity=_quoted(entity))).to_pylist()[0]
    return AlertRate(*(int(row[key] or 0) for key in ("points", "flagged", "entity_points",
                                                      "entity_flagged")))


def entity_series(directory: Path, entity: str) -> pa.Table:
    """Every scored match of the team with its band, for plotting."""
    return query_local(directory, _SERIES_SQL.format(entity=_quoted(entity)))


#: Anomalies labelled on the chart, most severe first; the table lists every one.
LABELLED = 8


def plot_series(series: pa.Table, entity: str, path: Path) -> Path:
    """Net goals per match as points, the expected range shaded green, anomalies red and labelled.

    Points, not a line: ~1,000 matches joined by a line read as a barcode. Seasons the
    team did not play are shaded grey and named, so a hole is not mistaken for missing data.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = series.to_pylist()
    figure, axis = plt.subplots(figsize=(12, 5), dpi=120)
    seasons = sorted({r["season"] for r in rows})
    # The band per season: the gaps between seasons (or a relegation) are not joined.
    for index, season in enumerate(seasons):
        part = [r for r in rows if r["season"] == season]
        axis.fill_between([r["date"] for r in part], [r["lower"] for r in part],
                          [r["upper"] for r in part], step="mid", color="tab:green", alpha=0.25,
                          linewidth=0, label="expected range" if index == 0 else None)
    _shade_gaps(axis, rows, seasons)
    usual = [r for r in rows if not r["is_anomaly"]]
    axis.scatter([r["date"] for r in usual], [r["num_goals_net"] for r in usual], s=7,
                 color="0.45", linewidths=0, label="net goals per match")
    outliers = [r for r in rows if r["is_anomaly"]]
    axis.scatter([r["date"] for r in outliers], [r["num_goals_net"] for r in outliers],
                 color="tab:red", s=24, zorder=3, label=f"anomaly ({len(outliers)})")
    for r in sorted(outliers, key=lambda r: -float(r["score"] or 0))[:LABELLED]:
        axis.annotate(f"{r['goals_for']}-{r['goals_against']} {r['opponent']}",
                      (r["date"], r["num_goals_net"]), textcoords="offset points",
                      xytext=(4, 6 if r["num_goals_net"] >= 0 else -11), fontsize=7,
                      color="tab:red")
    axis.axhline(0, color="0.3", linewidth=0.8)
    axis.margins(y=0.12)  # room for the labels of the most extreme points
    span = f"{seasons[0]} to {seasons[-1]}" if seasons else "no data"
    axis.set_title(f"{entity}: net goals per match (goals for minus against), {span}")
    axis.set_xlabel("match date")
    axis.set_ylabel("net goals")
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4, fontsize=8,
                frameon=False)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _shade_gaps(axis: Any, rows: list[dict[str, Any]], seasons: list[str]) -> None:
    """Grey out the time between two seasons the team played that are not consecutive."""
    from lakeguard.cli.report_coverage import missing_seasons

    for before, after in itertools.pairwise(seasons):
        skipped = missing_seasons(seasons, before, after)
        if not skipped:
            continue
        end = max(r["date"] for r in rows if r["season"] == before)
        start = min(r["date"] for r in rows if r["season"] == after)
        axis.axvspan(end, start, color="0.85", alpha=0.6, linewidth=0)
        axis.text(end + (start - end) / 2, 0.97, f"no matches\n{', '.join(skipped)}",
                  transform=axis.get_xaxis_transform(), ha="center", va="top", fontsize=7,
                  color="0.3")


def _html_table(table: pa.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in table.to_pylist()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(directory: Path, entity: str = "Marseille",
                 out_dir: Path | None = None, now: datetime | None = None) -> ReportPaths:
    """Write ``<entity>_net_goals.png`` and ``report.html`` for one team.

    The page says when it was generated, from which data (seasons, matches, gaps) and
    with which model versions, so that a printed copy can still be judged.
    """
    from lakeguard.cli.report_coverage import coverage

    out = out_dir or directory
    out.mkdir(parents=True, exist_ok=True)
    png = plot_series(entity_series(directory, entity), entity,
                      out / f"{entity.lower().replace(' ', '_')}_net_goals.png")
    per_season = query_local(directory, f"""
        SELECT a.season, count(*) AS matches, count_if(a.is_anomaly) AS anomalies,
               array_join(array_agg(DISTINCT a.model_version), ', ') AS model_versions
        FROM refined.anomalies a WHERE a.dataset = 'matches' AND a.entity = '{_quoted(entity)}'
        GROUP BY a.season ORDER BY a.season""")
    versions = sorted({v for cell in per_season.column("model_versions").to_pylist()
                       for v in str(cell or "").split(", ") if v})
    covered = coverage(directory, entity)
    generated = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    facts = "".join(f"<li>{html.escape(line)}</li>" for line in (
        f"Generated {generated} from the exported lake {directory}.",
        *covered.sentences(),
        f"Model version(s): {', '.join(versions) or 'none'}."))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lakeguard: {html.escape(entity)}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}
th{{background:#f3f3f3}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(entity)}: unusual results</h1>
<ul class="coverage">{facts}</ul>
<p>Each dot is one league match; the value is net goals (goals for minus goals against).
The green band is the range the model expected for that match from the team's earlier
results only: inside the span of every earlier result, and close enough to the recent
level. Red dots are matches outside it, the anomalies; the {LABELLED} most severe are labelled.
Grey spans are seasons the team did not play. The anomaly score is the distance from the
range's centre in half-widths: above 1 is outside, and the higher, the rarer.</p>
<p><strong>{html.escape(alert_rate(directory, entity).sentence(entity))}</strong></p>
<img alt="net goals per match" src="data:image/png;base64,{image}">
<h2>Anomalous matches, most severe first</h2>
{_html_table(entity_anomalies(directory, entity))}
<h2>Per season</h2>
{_html_table(per_season)}
<p>Source: refined.team_matches and refined.anomalies of the lakeguard demo.</p>
</body></html>
"""
    target = out / "report.html"
    target.write_text(page, encoding="utf-8")
    return ReportPaths(html=target, png=png)
