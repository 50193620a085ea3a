"""Read what readers see of a zone's table on the embedded AWS, for assertions."""

import io

import pyarrow as pa
import pyarrow.parquet as pq

from lakeguard.aws import client


def visible_rows(lake, zone: str, table: str) -> pa.Table:
    """Every row a reader of ``zone``'s ``table`` sees now (the table's current snapshot)."""
    try:
        from lakeguard.config import Settings
        from lakeguard.tables import read_table
    except ImportError:  # the copy-then-delete layout: committed objects under the table folder
        s3, bucket = client("s3"), lake.bucket(zone)
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{table}/") for o in page.get("Contents", [])]
        tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
                  for k in keys if k.endswith(".parquet")]
        return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
    return read_table(Settings.from_outputs(lake.outputs), zone, table)


def team_goals(lake, zone: str, team: str) -> list[int]:
    """Goals of ``team`` at home (clean) or for (refined), sorted."""
    if zone == "clean":
        rows = visible_rows(lake, "clean", "matches").to_pylist()
        return sorted(r["home_goals"] for r in rows if r["home_team"] == team)
    rows = visible_rows(lake, "refined", "team_matches").to_pylist()
    return sorted(r["goals_for"] for r in rows if r["team"] == team)
