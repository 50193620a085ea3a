"""A persistent embedded lake: ``lakeguard local up|status|down``, and commands attached to it.

``up`` starts the embedded lake in a background process of its own (moto, the deployed
stacks, Lambda workers, warm Spark) on a free port, and writes ``lake.json`` in the state
folder: its port, process and the endpoint and credentials to reach it. Every command that
talks to AWS works against it with those (``lakeguard local env`` prints them as shell
exports); ``local run`` and ``query --lake`` find it on their own.

``down`` asks it to stop: it exports itself to ``<state>/saved/`` first (every zone, the
ledger, the raw versions, the tables' metadata locations: the layout ``--local`` reads),
and the next ``up`` restores that state before it answers. Raw objects get new version ids
on the way back (S3 cannot set them); the ledger entries of the current versions are moved
to the new ids, so ``ledger check`` proves the restored lake as it proved the saved one.
The pseudonymisation key is kept in ``<state>/pseudonym.key`` (mode 600) so pseudonyms stay
the same across restarts: it is a local lake's key, never an AWS one.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakeguard import config
from lakeguard.aws import client
from lakeguard.config import Settings
from lakeguard.exceptions import LocalRuntimeError
from lakeguard.local.runtime import UNSAFE_KEYS_FILE, ZONES, LocalLake
from lakeguard.local.skipped import complete_skipped_resources
from lakeguard.pipeline.keys import UNSAFE_FOLDER
from lakeguard.pipeline.ledger import Ledger, LedgerEntry
from lakeguard.pipeline.ledger_check import LEDGER_FILE, RAW_VERSIONS_FILE
from lakeguard.tables import names_of
from lakeguard.tables.export import CATALOG_FILE

#: Where ``up`` keeps its state unless told otherwise (relative to the working folder).
DEFAULT_STATE_DIR = Path(config.LOCAL_STATE_DIR)
LAKE_FILE, LOG_FILE, SAVED, KEY_FILE = "lake.json", "lake.log", "saved", "pseudonym.key"
#: How long ``up`` waits for a first start (synthesis, deploy, Spark) and ``down`` for the save.
START_SECONDS, STOP_SECONDS = 900.0, 600.0


@dataclass(frozen=True)
class RunningLake:
    """What ``lake.json`` says of a lake that is up."""

    pid: int
    port: int
    started_at: str
    environment: dict[str, str]
    outputs: dict[str, str]

    @property
    def endpoint(self) -> str:
        """The URL every client is pointed at."""
        return self.environment[config.ENV_AWS_ENDPOINT]

    def exports(self) -> list[str]:
        """Shell lines that point the AWS CLI, boto3 and lakeguard at this lake."""
        return [f"export {name}={value}" for name, value in sorted(self.environment.items())]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_lake(state_dir: Path = DEFAULT_STATE_DIR) -> RunningLake | None:
    """The lake that is up for this state folder, if one is (a stale file is removed)."""
    path = state_dir / LAKE_FILE
    if not path.is_file():
        return None
    lake = RunningLake(**json.loads(path.read_text(encoding="utf-8")))
    if not _alive(lake.pid):
        path.unlink(missing_ok=True)
        return None
    return lake


def not_up(state_dir: Path) -> str:
    """What to say when no lake is up for ``state_dir``."""
    return f"no embedded lake is up for {state_dir}/; start one with `lakeguard local up`"


def attach(state_dir: Path = DEFAULT_STATE_DIR) -> LocalLake:
    """A handle on the running lake, for dropping files, waiting and exporting from here."""
    running = running_lake(state_dir)
    if running is None:
        raise LocalRuntimeError(not_up(state_dir))
    os.environ.update(running.environment)
    lake = LocalLake()
    lake.outputs = dict(running.outputs)
    return lake


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _follow(log: Path, offset: int, progress: Callable[[str], None]) -> int:
    """Hand the log's new ``-- `` lines to ``progress``; return the new offset."""
    if not log.is_file():
        return offset
    with log.open("rb") as handle:
        handle.seek(offset)
        chunk = handle.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    for line in complete.decode("utf-8", errors="replace").splitlines():
        if line.startswith("-- "):
            progress(line)
    return offset + len(complete)


def up(state_dir: Path = DEFAULT_STATE_DIR, port: int | None = None,
       progress: Callable[[str], None] = lambda _: None) -> tuple[RunningLake, bool]:
    """Start the lake in the background (or find it up); return it and whether it started."""
    running = running_lake(state_dir)
    if running is not None:
        return running, False
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / LOG_FILE
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "lakeguard.local.persistent", str(state_dir.resolve()),
             str(port or 0)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    deadline, offset = time.monotonic() + START_SECONDS, 0
    while time.monotonic() < deadline:
        offset = _follow(log, offset, progress)
        running = running_lake(state_dir)
        if running is not None:
            return running, True
        if process.poll() is not None:
            raise LocalRuntimeError(f"the embedded lake stopped while starting; the end of "
                                    f"{log}:\n{_tail(log)}")
        time.sleep(0.5)
    process.terminate()
    raise LocalRuntimeError(f"the embedded lake did not start within {START_SECONDS:.0f} s; "
                            f"see {log}")


def down(state_dir: Path = DEFAULT_STATE_DIR,
         progress: Callable[[str], None] = lambda _: None) -> RunningLake | None:
    """Ask the running lake to save its state and stop; wait for it. None if none was up."""
    running = running_lake(state_dir)
    if running is None:
        return None
    log = state_dir / LOG_FILE
    offset = log.stat().st_size if log.is_file() else 0
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while _alive(running.pid) and time.monotonic() < deadline:
        offset = _follow(log, offset, progress)
        time.sleep(0.5)
    _follow(log, offset, progress)
    if _alive(running.pid):
        raise LocalRuntimeError(f"the embedded lake (process {running.pid}) did not stop within "
                                f"{STOP_SECONDS:.0f} s; see {log}")
    return running


def _pseudonym_key(state_dir: Path) -> str:
    """The lake's pseudonymisation key: the environment's, else the one kept on disk."""
    given = os.environ.get(config.ENV_LOCAL_PSEUDONYM_KEY)
    if given:
        return given
    path = state_dir / KEY_FILE
    if not path.is_file():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _current_versions(saved: Path) -> dict[str, str]:
    """Each raw key's newest version in the saved lake (S3 lists a key's newest first)."""
    newest: dict[str, str] = {}
    for key, version in json.loads((saved / RAW_VERSIONS_FILE).read_text(encoding="utf-8")):
        newest.setdefault(key, version)
    return newest


def _saved_objects(saved: Path, zone: str) -> list[tuple[str, Path]]:
    """(key, file) of every object a zone's export holds, unsafe keys included."""
    folder = saved / zone
    unsafe_path = saved / UNSAFE_KEYS_FILE
    unsafe = {entry["file"]: entry["key"] for entry in
              (json.loads(unsafe_path.read_text(encoding="utf-8")) if unsafe_path.is_file()
               else []) if entry["zone"] == zone}
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        relative = path.relative_to(folder).as_posix()
        if relative.startswith(f"{UNSAFE_FOLDER}/"):
            found.append((unsafe[path.relative_to(saved).as_posix()], path))
        else:
            found.append((relative, path))
    return found


def restore(lake: LocalLake, saved: Path) -> int:
    """Put a saved lake back into a freshly deployed one; return the objects restored.

    The raw bucket's event notifications are off meanwhile: restored objects are history,
    not new drops, and must not start executions. Versioning and notifications are then
    applied again from the deployed template.
    """
    s3, glue = client("s3"), client("glue")
    raw = lake.bucket("raw")
    s3.put_bucket_notification_configuration(Bucket=raw, NotificationConfiguration={})
    new_versions: dict[str, str] = {}
    count = 0
    try:
        for zone in ZONES:
            for key, path in _saved_objects(saved, zone):
                answer = s3.put_object(Bucket=lake.bucket(zone), Key=key, Body=path.read_bytes())
                if zone == "raw":
                    new_versions[key] = str(answer.get("VersionId"))
                count += 1
    finally:  # back as the template has them (moto does not read EventBridge settings back)
        complete_skipped_resources(lake.stacks)
    current = _current_versions(saved)
    ledger = Ledger(lake.outputs["LedgerTableName"])
    for fields in json.loads((saved / LEDGER_FILE).read_text(encoding="utf-8")):
        entry = LedgerEntry(**fields)
        if entry.key in new_versions and current.get(entry.key) == entry.version_id:
            entry = LedgerEntry(**{**fields, "version_id": new_versions[entry.key]})
        ledger.restore(entry)
    catalog = json.loads((saved / CATALOG_FILE).read_text(encoding="utf-8"))
    names = names_of(Settings.from_outputs(lake.outputs))
    for table, location in catalog["tables"].items():
        zone, name = table.split("/", 1)
        database = names.database(zone)
        found = glue.get_table(DatabaseName=database, Name=name)["Table"]
        parameters = {**found.get("Parameters", {}), "metadata_location": location,
                      "previous_metadata_location": found.get("Parameters", {}).get(
                          "metadata_location", "")}
        glue.update_table(DatabaseName=database, TableInput={
            "Name": name, "TableType": found.get("TableType", "EXTERNAL_TABLE"),
            "Parameters": parameters, "StorageDescriptor": found["StorageDescriptor"],
            **({"Description": found["Description"]} if found.get("Description") else {})})
    return count


def _write_lake_file(state_dir: Path, lake: LocalLake) -> None:
    assert lake.aws is not None
    names = (config.ENV_AWS_ENDPOINT, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EC2_METADATA_DISABLED")
    running = RunningLake(pid=os.getpid(), port=lake.aws.port,
                          started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                          environment={n: os.environ[n] for n in names if n in os.environ},
                          outputs=lake.outputs)
    temporary = state_dir / f"{LAKE_FILE}.tmp"
    temporary.write_text(json.dumps(asdict(running), indent=2) + "\n", encoding="utf-8")
    temporary.chmod(0o600)  # the embedded AWS's operator keys: local, but nobody else's
    temporary.replace(state_dir / LAKE_FILE)


def serve(state_dir: Path, port: int | None) -> None:
    """The background process: start, restore, announce, then save and stop on SIGTERM."""
    def say(line: str) -> None:
        print(f"-- {line}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    lake = LocalLake(port=port, pseudonym_key=_pseudonym_key(state_dir)).start(progress=say)
    saved = state_dir / SAVED
    try:
        if (saved / LEDGER_FILE).is_file():
            say(f"restoring the state saved in {saved}/")
            say(f"restored {restore(lake, saved)} object(s)")
        _write_lake_file(state_dir, lake)
        say(f"up on {lake.aws.endpoint if lake.aws else '?'} (process {os.getpid()})")
        stop.wait()
        say(f"saving the lake's state to {saved}/")
        staging = state_dir / f"{SAVED}.new"
        shutil.rmtree(staging, ignore_errors=True)
        lake.export(staging)
        shutil.rmtree(saved, ignore_errors=True)
        staging.replace(saved)
        say("saved; stopping")
    finally:
        (state_dir / LAKE_FILE).unlink(missing_ok=True)
        lake.stop()


def describe(running: RunningLake) -> dict[str, Any]:
    """What ``local status`` prints."""
    return {"pid": running.pid, "port": running.port, "endpoint": running.endpoint,
            "started_at": running.started_at, "raw_bucket": running.outputs.get("RawBucketName"),
            "state_machine": running.outputs.get("StateMachineArn")}


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]) or None)
