"""Fixtures of the functional tier: moto in process, and the stages' resources in it."""

from __future__ import annotations

import importlib
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lakeguard import config
from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.pipeline.ledger import DIGEST_INDEX

if TYPE_CHECKING:
    from lakeguard.pipeline.ledger import LedgerEntry


@pytest.fixture
def aws(monkeypatch):
    """moto's in-process AWS with fake credentials, whatever an embedded lake left set."""
    from moto import mock_aws, settings

    from lakeguard.local import gaps

    gaps.answer_lambda_account_settings()  # before the mock routes its URLs

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # An embedded lake in this session enforces IAM process-wide; these tests do not.
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    with mock_aws():
        yield


EVENTS = Path(__file__).resolve().parent / "events"
DATA = Path(__file__).resolve().parents[2] / "data"
#: One season of Ligue 1 results, as the demo drops it (380 matches).
SEASON = (DATA / "football" / "ligue1" / "2006-07_fr.1.csv").read_bytes()
BUCKETS = {"raw": "lg-raw", "clean": "lg-clean", "refined": "lg-refined",
           "quarantine": "lg-quarantine", "artefacts": "lg-artefacts"}
LEDGER_TABLE = "lg-ledger"
PSEUDONYM_SECRET = "lg-pseudonym-key"


def event(name: str) -> dict[str, Any]:
    """A JSON event fixture of ``events/``, shaped as AWS delivers it."""
    document: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return document


@dataclass
class Lake:
    """The stages' AWS resources in moto, as the stacks deploy them, and their settings."""

    settings: Settings

    def object_created(self, key: str, version_id: str, size: int) -> dict[str, Any]:
        """The EventBridge "Object Created" event S3 sends for one raw object version."""
        document = event("object_created")
        document["detail"]["bucket"]["name"] = self.settings.raw_bucket
        document["detail"]["object"].update({"key": key, "size": size, "version-id": version_id})
        return document

    def drop(self, key: str, body: bytes) -> dict[str, Any]:
        """Put a raw object and ingest it; return the execution input the state machine got."""
        from lakeguard.pipeline.ingest import object_from_event
        from lakeguard.pipeline.ledger import Ledger

        version = client("s3").put_object(Bucket=self.settings.raw_bucket, Key=key,
                                          Body=body)["VersionId"]
        ref = object_from_event(self.object_created(key, version, len(body)))
        Ledger(self.settings.ledger_table).receive(ref)
        return ref.to_state()

    @staticmethod
    def invoke(stage: str, state: dict[str, Any]) -> dict[str, Any]:
        """Call the stage's Lambda handler (``lambdas/<stage>.py``) as Lambda would."""
        handler = importlib.import_module(f"lambdas.{stage}").handler
        result: dict[str, Any] = handler(json.loads(json.dumps(state)), None)
        return json.loads(json.dumps(result))  # what Step Functions passes on

    def keys(self, zone: str, prefix: str = "") -> list[str]:
        """Every key of a zone's bucket under ``prefix``."""
        from lakeguard.s3io import list_keys

        return list_keys(getattr(self.settings, f"{zone}_bucket"), prefix)

    def ledger(self, state: dict[str, Any]) -> LedgerEntry:
        """The ledger entry of the object version a run works on."""
        from lakeguard.pipeline.event import ObjectRef
        from lakeguard.pipeline.ledger import Ledger

        entry = Ledger(self.settings.ledger_table).get(ObjectRef.from_state(state))
        assert entry is not None
        return entry


def deploy(monkeypatch: pytest.MonkeyPatch, suffix: str = "") -> Lake:
    """Create the buckets (raw versioned), the ledger table and the pseudonymisation secret
    in the current (moto) AWS, and set the environment the processing stack gives the stage
    functions. ``suffix`` keeps the names of several lakes in one moto server apart."""
    buckets = {zone: f"{name}{suffix}" for zone, name in BUCKETS.items()}
    s3 = client("s3")
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=buckets["raw"],
                             VersioningConfiguration={"Status": "Enabled"})
    client("dynamodb").create_table(
        TableName=f"{LEDGER_TABLE}{suffix}", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "object", "KeyType": "HASH"},
                   {"AttributeName": "version_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"},
                              {"AttributeName": "version_id", "AttributeType": "S"},
                              {"AttributeName": "digest", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{  # as stacks/storage.py defines it
            "IndexName": DIGEST_INDEX, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "digest", "KeyType": "HASH"}]}])
    secret = client("secretsmanager").create_secret(Name=f"{PSEUDONYM_SECRET}{suffix}",
                                                     SecretString="k" * 64)
    environment = {
        config.ENV_RAW_BUCKET: buckets["raw"], config.ENV_CLEAN_BUCKET: buckets["clean"],
        config.ENV_REFINED_BUCKET: buckets["refined"],
        config.ENV_QUARANTINE_BUCKET: buckets["quarantine"],
        config.ENV_ARTEFACTS_BUCKET: buckets["artefacts"],
        config.ENV_GLUE_DATABASE: f"lg_refined{suffix.replace('-', '_')}",
        config.ENV_CLEAN_DATABASE: f"lg_clean{suffix.replace('-', '_')}",
        config.ENV_LEDGER_TABLE: f"{LEDGER_TABLE}{suffix}",
        config.ENV_PSEUDONYM_SECRET: secret["ARN"],
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Lake(Settings.from_env())


@pytest.fixture
def lake(aws, monkeypatch) -> Lake:
    """The stages' resources in moto in process (see :func:`deploy`)."""
    return deploy(monkeypatch)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode on a free port: pyiceberg's file I/O (pyarrow's own S3 client)
    needs an endpoint, which the in-process mock does not give."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class Request:
    """One request the moto server answered: method, path and query string."""

    method: str
    path: str
    query: str


@pytest.fixture
def server_requests(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """Every request the moto server answers from now on, in order (whoever sent it:
    botocore or pyarrow's own S3 client)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    seen: list[Request] = []
    answer = DomainDispatcherApplication.__call__

    def counted(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(Request(environ["REQUEST_METHOD"], environ["PATH_INFO"],
                            environ.get("QUERY_STRING", "")))
        return answer(self, environ, start_response)

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", counted)
    return seen


@pytest.fixture
def served_lake(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """A lake of its own in the moto server: buckets, ledger, secret, the two Glue
    databases and the Iceberg tables of the matches contract.

    Each test gets new names: the server's state outlives a test (and an in-process
    ``mock_aws`` elsewhere in the session resets it, which new names also survive).
    """
    from moto import settings

    from lakeguard.contracts import load_contract
    from lakeguard.tables import ensure_tables, names_of, run_tables

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    deployed = deploy(monkeypatch, suffix=f"-{uuid.uuid4().hex[:8]}")
    names = names_of(deployed.settings)
    for database in (names.clean_database, names.refined_database):
        client("glue").create_database(DatabaseInput={"Name": database})
    ensure_tables(tuple(run_tables(load_contract("matches"))), names)
    return deployed


def hand_over(lake: Lake, state: dict[str, Any], zone: str, name: str, rows: Any) -> None:
    """Put rows on the run's branch of a table, as a Glue job's ``write_run_branch`` does."""
    from lakeguard.pipeline.event import ObjectRef
    from lakeguard.tables import Source, load_table
    from lakeguard.tables.branches import run_branch
    from lakeguard.tables.commit import with_lineage

    ref = ObjectRef.from_state(state)
    iceberg = load_table(lake.settings, zone, name)
    rows = with_lineage(rows, iceberg.schema().as_arrow(),
                        Source(ref.run_id, ref.key_id, ref.key, ref.version_id, None))
    if iceberg.current_snapshot() is None:  # pyiceberg forks no branch off an empty table
        iceberg.append(rows.slice(0, 0))
    main = iceberg.current_snapshot()
    assert main is not None
    iceberg.manage_snapshots().create_branch(main.snapshot_id, run_branch(ref.run_id)).commit()
    iceberg.append(rows, branch=run_branch(ref.run_id))


def stage_refined(lake: Lake, state: dict[str, Any]) -> None:
    """What the RefineLarge (Glue) task hands over: each refined table of the clean rows, by
    the Arrow function the job's Spark twin is held to, on the run's branch of the table."""
    from lakeguard.contracts import load_contract
    from lakeguard.s3io import read_parquet
    from lakeguard.tables import REFINED
    from lakeguard.transforms.refine import refine_table

    contract = load_contract("matches")
    clean = read_parquet(state["clean"]["outputs"])
    for table in contract.refined:
        hand_over(lake, state, REFINED, table.table, refine_table(clean, table, contract))
    # the Glue task's result (startJobRun.sync), which Quarantine reads to name a failed stage
    state["refine_job"] = {"JobRunId": "jr_functional", "JobRunState": "SUCCEEDED"}


def through_refine(lake: Lake, key: str, body: bytes, engine: str = "lambda") -> dict[str, Any]:
    """Drop a matches file and run it through Validate, Clean, Quality and Refine: the
    Lambda stage (the route of every object this small), or the Glue job's hand-over."""
    state = lake.drop(key, body)
    for stage, result in (("validate", "validation"), ("clean", "clean"),
                          ("quality", "quality")):
        state[result] = Lake.invoke(stage, state)
    if engine == "glue":
        stage_refined(lake, state)
    else:
        state["refine"] = Lake.invoke("refine", state)
    return state


def model_stages(state: dict[str, Any]) -> dict[str, Any]:
    """What the state machine runs when the contract has a model (Train only if asked)."""
    state["model_check"] = Lake.invoke("check_model", state)
    if state["model_check"]["needs_training"]:
        state["train"] = Lake.invoke("train", state)
    state["score"] = Lake.invoke("score", state)
    return state


def publish_crashing_after_clean_commit(state: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Run Publish dying right after its clean commit (a time-out, say), as ``seams`` lets a
    test plan; hand the error to the state the way the state machine's Catch does."""
    from lakeguard.pipeline import seams

    def crash(name: str, run_id: str) -> None:
        if name == "commit:clean/matches:done":
            raise RuntimeError(f"crashed at {name}")

    monkeypatch.setattr(seams, "HOOKS", [crash])
    with pytest.raises(RuntimeError) as raised:
        Lake.invoke("publish", state)
    monkeypatch.setattr(seams, "HOOKS", [])
    state["error"] = {"Error": "RuntimeError", "Cause": json.dumps(
        {"errorType": "RuntimeError", "errorMessage": str(raised.value)})}
