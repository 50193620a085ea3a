import contextlib
import datetime as dt
import json
import logging
import socket

import pyarrow as pa
import pytest


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ensure_resources(names=None):
    """The buckets and databases of ``names`` (by default ``clean-b``/``refined-b`` and
    ``c_db``/``r_db``), again after a test's ``mock_aws`` reset moto's state, which the
    in-process server shares."""
    import boto3

    buckets = (names.clean_bucket, names.refined_bucket) if names else ("clean-b", "refined-b")
    databases = (names.clean_database, names.refined_database) if names else ("c_db", "r_db")
    for bucket in buckets:
        boto3.client("s3").create_bucket(Bucket=bucket)
    glue = boto3.client("glue")
    for database in databases:
        with contextlib.suppress(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": database})


def export_refined(names, folder, seasons):
    """Publish ``seasons`` (source -> (team_matches rows, anomalies rows)) into the refined
    Iceberg tables of ``names`` and export them to ``folder`` as ``lakeguard demo`` does."""
    import boto3

    from lakeguard.s3io import download_path
    from lakeguard.tables import ensure_tables, find, replace_rows
    from lakeguard.tables.catalog import glue_catalog
    from lakeguard.tables.commit import with_lineage
    from lakeguard.tables.export import CATALOG_FILE

    _ensure_resources(names)
    specs = (find("refined", "team_matches"), find("refined", "anomalies"))
    ensure_tables(specs, names)
    for source, (rows, scored) in seasons.items():
        for spec, table_rows in zip(specs, (rows, scored), strict=True):
            table = glue_catalog().load_table(spec.identifier(names))
            replace_rows(table, with_lineage(pa.Table.from_pylist(table_rows),
                                             table.schema().as_arrow(), source), source)
    s3 = boto3.client("s3")
    for obj in s3.list_objects_v2(Bucket=names.refined_bucket).get("Contents", []):
        if obj["Key"].endswith("/") or not obj["Key"].startswith(("team_matches/", "anomalies/")):
            continue  # other tests' tables share the bucket
        target = folder / "refined" / obj["Key"]
        target.parent.mkdir(parents=True, exist_ok=True)
        download_path(s3, names.refined_bucket, obj["Key"], target)
    glue = boto3.client("glue")
    metadata = {s.key: glue.get_table(DatabaseName=names.refined_database, Name=s.name)[
        "Table"]["Parameters"]["metadata_location"] for s in specs}
    (folder / CATALOG_FILE).write_text(json.dumps(
        {"buckets": {"clean": names.clean_bucket, "refined": names.refined_bucket},
         "tables": metadata, "staging": []}))
    return folder


@pytest.fixture
def iceberg_aws(iceberg_server):
    """The session's moto server, its buckets and databases there."""
    _ensure_resources()
    return iceberg_server


@pytest.fixture(scope="session")
def iceberg_server():
    """moto in server mode (pyarrow's S3 client needs a real endpoint), with the Glue gap
    bridged."""
    from moto.server import ThreadedMotoServer

    from lakeguard.local import gaps
    from lakeguard.tables import Names

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    gaps.refuse_stale_glue_table_versions()
    patch = pytest.MonkeyPatch()
    for name, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        patch.setenv(name, value)
    patch.delenv("AWS_SESSION_TOKEN", raising=False)
    yield Names("c_db", "r_db", "clean-b", "refined-b")
    patch.undo()
    server.stop()


@pytest.fixture(scope="session")
def lake(iceberg_server, tmp_path_factory):
    """A tiny exported lake: two seasons of team_matches and their anomalies, as Iceberg."""
    from lakeguard.tables import Source

    matches = [
        ("1996-97", dt.date(1996, 8, 11), "Marseille", "Lyon", "home", 3, 1),
        ("1996-97", dt.date(1997, 5, 24), "Marseille", "Lyon", "away", 0, 8),
        ("1997-98", dt.date(1997, 8, 2), "Marseille", "Metz", "home", 1, 1),
    ]
    seasons = {}
    for season in ("1996-97", "1997-98"):
        source = Source(f"run-{season}", f"key-{season}", f"matches/{season}.csv", "v", "d")
        rows = [{"date": d, "team": t, "opponent": o, "home_away": h, "goals_for": f,
                 "goals_against": a, "num_goals_net": f - a, "season": s}
                for s, d, t, o, h, f, a in matches if s == season]
        scored = [{"entity": r["team"], "ts": r["date"], "value": float(r["num_goals_net"]),
                   "lower": -2.0, "upper": 3.0, "score": abs(r["num_goals_net"] - 0.5) / 2.5,
                   "is_anomaly": r["num_goals_net"] < -2, "alert": r["num_goals_net"] < -2,
                   "reason": "below the lowest value seen before" if r["num_goals_net"] < -2 else "",
                   "detector": "range_likelihood", "model_version": "v1",
                   "dataset": "matches", "season": season} for r in rows]
        seasons[source] = (rows, scored)
    return export_refined(iceberg_server, tmp_path_factory.mktemp("export"), seasons)
