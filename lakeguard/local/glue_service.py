"""The embedded Glue service: each job runs its synthesized script in its own Spark process.

What a job gets is what Glue 5 gives it: its script (``ScriptLocation``), its
``--extra-py-files`` on the module path, its ``--additional-python-modules`` installed
(pinned, from PyPI, once), Spark, Python 3.11, and the credentials of its own role. One
warm worker per job keeps its Spark driver between runs (Glue starts one per run; the
result is the same, the wait is not), and runs one job at a time.

Local pyspark cannot reach ``s3://`` offline (no hadoop-aws jars), so ``--input*`` objects
are downloaded before the run and the files the job writes under ``--output_uri`` are
uploaded after it, both with the job role's credentials: the role's S3 permissions are
exercised as in Glue.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import botocore.session

from lakeguard.cachelock import held
from lakeguard.exceptions import LocalRuntimeError
from lakeguard.glue.iceberg import SPARK_PACKAGES, local_endpoint_conf, parse_conf_argument
from lakeguard.local.lambda_service import CodeStore
from lakeguard.local.runtimes import CACHE, installed, interpreter
from lakeguard.local.spark import IVY_CACHE
from lakeguard.s3io import download_path, split_uri, upload_path

BOOTSTRAP = Path(__file__).with_name("glue_bootstrap.py")
LOG4J = Path(__file__).with_name("log4j2.properties")
GLUE_PYTHON = "3.11"
#: Libraries Glue 5 preinstalls that the jobs rely on without pinning them: pandas (which
#: pyspark's Arrow functions require) and the AWS SDK. Stand-ins at these versions, below
#: the job's own --additional-python-modules on the module path, as in Glue.
GLUE_PREINSTALLED = ("pandas==2.2.3", "boto3==1.34.145", "botocore==1.34.145")
#: How long a job may run locally before it is stopped (Glue's own timeout is the job's).
RUN_TIMEOUT_S = 1800.0


class JobRunFailed(LocalRuntimeError):
    """The job's script raised: Glue reports the run as FAILED with this message."""


def _modules(arguments: Mapping[str, str]) -> list[str]:
    listed = arguments.get("--additional-python-modules", "")
    return sorted(m.strip() for m in listed.split(",") if m.strip())


def job_packages(modules: list[str] | tuple[str, ...]) -> Path:
    """A folder with these pinned modules, installed once per list."""
    return installed("glue5-" + "-".join(m.replace("==", "_") for m in modules), modules,
                     "the Glue job's Python modules")


def spark_home() -> Path:
    """A folder holding only Spark's Python side (pyspark, py4j), as Glue preinstalls it."""
    import py4j
    import pyspark

    folder = CACHE / f"glue5-spark-{pyspark.__version__}"
    folder.mkdir(parents=True, exist_ok=True)
    for module in (pyspark, py4j):
        link = folder / module.__name__
        if not link.exists():
            link.symlink_to(Path(str(module.__file__)).parent)
    return folder


def _s3(credentials: Mapping[str, str], endpoint: str, region: str) -> Any:
    """An S3 client acting as the job's role."""
    return botocore.session.Session().create_client(
        "s3", region_name=region, endpoint_url=endpoint,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"))


def localise_arguments(arguments: Mapping[str, str], workdir: Path,
                       s3: Any) -> tuple[dict[str, str], Path | None]:
    """Download ``--input*`` objects and point ``--output_uri`` at a local folder."""
    local = dict(arguments)
    output_dir = None
    for name, value in arguments.items():
        if name.startswith("--input"):
            uris: list[str] = json.loads(value) if value.startswith("[") else [value]
            paths = []
            for index, uri in enumerate(uris):
                bucket, key = split_uri(uri)
                target = workdir / f"input-{index}" / Path(key).name
                target.parent.mkdir(parents=True, exist_ok=True)
                download_path(s3, bucket, key, target)
                paths.append(str(target))
            local[name] = json.dumps(paths) if value.startswith("[") else paths[0]
        elif name == "--output_uri":
            output_dir = workdir / "output"
            local[name] = str(output_dir) + "/"
    return local, output_dir


def upload_outputs(folder: Path, uri: str, s3: Any) -> list[str]:
    """Upload what the job wrote locally to the prefix it was given."""
    bucket, prefix = split_uri(uri)
    keys = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")):
            key = prefix + path.relative_to(folder).as_posix()
            upload_path(s3, path, bucket, key)
            keys.append(key)
    return keys


class GlueWorker:
    """One warm Spark driver process for one job."""

    def __init__(self, name: str, path: list[str], environment: dict[str, str],
                 log: Path) -> None:
        self.name = name
        self.replies: queue.Queue[str | None] = queue.Queue()
        self.lock = threading.Lock()
        # Spark resolves the Iceberg runtime into the shared Ivy cache as it starts: one
        # process of this checkout at a time, or two resolutions overwrite each other's files
        with held(IVY_CACHE), log.open("ab") as handle:
            self.process = subprocess.Popen(
                [str(interpreter(GLUE_PYTHON)), "-I", "-S", str(BOOTSTRAP)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=handle,
                env={**environment, "LAKEGUARD_GLUE_PATH": json.dumps(path)},
                text=True, encoding="utf-8")
            threading.Thread(target=self._read, daemon=True, name=f"glue-{name}").start()
            ready = self._next(timeout=300.0)
        if not ready.get("ready"):
            raise LocalRuntimeError(f"the Glue job {name} could not start Spark: "
                                    f"{ready.get('errorMessage', 'see its log')} ({log})")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return {"errorType": "Timeout", "errorMessage": f"no answer within {timeout:.0f} s"}
        if line is None:
            return {"errorType": "ExitError",
                    "errorMessage": f"the job process exited with {self.process.wait()}"}
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, script: Path, arguments: list[str]) -> dict[str, Any]:
        """Run the script once; the reply holds ``ok`` or ``errorType``/``errorMessage``."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"script": str(script), "arguments": arguments})
                                 + "\n")
        self.process.stdin.flush()
        return self._next(RUN_TIMEOUT_S)

    @property
    def alive(self) -> bool:
        """Whether the driver can take another run."""
        return self.process.poll() is None

    def stop(self) -> None:
        """End the driver (and its Spark JVM, a child of this process)."""
        if self.alive:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class GlueService:
    """Runs deployed Glue jobs from their synthesized script and libraries."""

    def __init__(self, *, workdir: Path, store: CodeStore,
                 credentials: Callable[[str], dict[str, str]],
                 base_environment: Mapping[str, str]) -> None:
        self.workdir, self.store, self.credentials = workdir, store, credentials
        self.base_environment = dict(base_environment)
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._workers: dict[str, GlueWorker] = {}
        self._lock = threading.Lock()
        self._runs = 0

    def log_path(self, job: str) -> Path:
        """The job's log (driver output and errors)."""
        return self.logs / f"glue-{job}.log"

    def _python_wrapper(self) -> Path:
        """What Spark starts its Python workers with: the same interpreter, no site-packages."""
        wrapper = self.workdir / "glue-python"
        if not wrapper.exists():
            wrapper.write_text(f'#!/bin/sh\nexec "{interpreter(GLUE_PYTHON)}" -S "$@"\n',
                               encoding="utf-8")
            wrapper.chmod(0o755)
        return wrapper

    def _worker(self, name: str, role: str, arguments: Mapping[str, str]) -> GlueWorker:
        with self._lock:
            worker = self._workers.get(name)
            if worker is not None and worker.alive:
                return worker
            extra = [self.store.folder(*split_uri(uri))
                     for uri in arguments.get("--extra-py-files", "").split(",") if uri]
            path = [*map(str, extra), str(job_packages(_modules(arguments))),
                    str(job_packages(GLUE_PREINSTALLED)), str(spark_home())]
            python = self._python_wrapper()
            environment = {
                **self.base_environment, **self.credentials(role),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": str(python),
                "PYTHONPATH": os.pathsep.join(path), "TMPDIR": str(self._tmp(name)),
                "LAKEGUARD_SPARK_CONF": json.dumps(self.spark_conf(python, arguments)),
                **({"JAVA_HOME": os.environ["JAVA_HOME"]} if "JAVA_HOME" in os.environ else {}),
            }
            worker = GlueWorker(name, path, environment, self.log_path(name))
            self._workers[name] = worker
            return worker

    def _tmp(self, name: str) -> Path:
        folder = self.workdir / "tmp" / f"glue-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def spark_conf(self, python: Path, arguments: Mapping[str, str]) -> dict[str, str]:
        """A small local Spark shaped like one Glue worker: 2 cores, no UI.

        With what the job's arguments ask Glue for: ``--datalake-formats iceberg`` puts
        Glue 5.0's Iceberg runtime on the class path (resolved from Maven Central once,
        then from the cache), ``--conf`` its settings; each Iceberg catalog is then
        pointed at the embedded AWS.
        """
        conf = {
            "spark.master": "local[2]", "spark.app.name": "lakeguard-local-glue",
            "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC",
            "spark.driver.memory": "2g", "spark.pyspark.python": str(python),
            "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile=file:{LOG4J}",
        }
        if "iceberg" in arguments.get("--datalake-formats", "").split(","):
            conf |= {"spark.jars.packages": ",".join(SPARK_PACKAGES),
                     "spark.jars.ivy": str(IVY_CACHE)}
        asked = parse_conf_argument(arguments.get("--conf", ""))
        region = self.base_environment.get("AWS_REGION", "us-east-1")
        return conf | asked | local_endpoint_conf(
            asked, self.base_environment["AWS_ENDPOINT_URL"], region)

    def run(self, name: str, role: str, script_uri: str, arguments: Mapping[str, str]) -> None:
        """Run one job run to completion; raise :class:`JobRunFailed` with Glue's message."""
        worker = self._worker(name, role, arguments)
        credentials = self.credentials(role)
        endpoint = self.base_environment["AWS_ENDPOINT_URL"]
        s3 = _s3(credentials, endpoint, self.base_environment.get("AWS_REGION", "us-east-1"))
        with worker.lock:
            self._runs += 1
            run_dir = self.workdir / "runs" / f"{name}-{self._runs}"
            run_dir.mkdir(parents=True, exist_ok=True)
            try:
                bucket, key = split_uri(script_uri)
                script = run_dir / Path(key).name
                download_path(s3, bucket, key, script)
                local, output_dir = localise_arguments(arguments, run_dir, s3)
                argv = [token for pair in local.items() for token in pair]
                reply = worker.run(script, argv)
                if "ok" not in reply:
                    raise JobRunFailed(f"{reply.get('errorType')}: {reply.get('errorMessage')}")
                if output_dir is not None and output_dir.exists():
                    upload_outputs(output_dir, arguments["--output_uri"], s3)
            finally:
                shutil.rmtree(run_dir, ignore_errors=True)

    def close(self) -> None:
        """Stop every driver."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()
