"""The embedded Lambda service: each function runs from its shipped artefacts, in its own process.

What a function gets is what Lambda would give it: its code asset as ``/var/task``, its
layers as ``/opt/python``, the runtime's interpreter and AWS SDK
(:mod:`lakeguard.local.runtimes`), its configured environment, the credentials of its own
role, its timeout, and nothing from the project's virtual environment. A packaging
mistake (a module missing from the layer, a file missing from the asset, a handler
path that does not exist) fails the invocation with Lambda's own error, naming the
function. Execution environments are reused as Lambda reuses them: a function's warm
worker serves successive invocations, so imports are paid once per function.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import queue
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lakeguard.aws import client
from lakeguard.cachelock import held
from lakeguard.local.runtimes import interpreter, runtime_sdk

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
#: Error types Lambda reports when a function cannot start at all: the deployment is broken.
INIT_ERRORS = frozenset({"Runtime.ImportModuleError", "Runtime.HandlerNotFound",
                         "Runtime.UserCodeSyntaxError"})
#: Credentials for a role ARN (the embedded STS), as AWS_* environment variables.
Credentials = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class FunctionSpec:
    """One function's configuration, as deployed."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    role_arn: str
    environment: Mapping[str, str]
    code: Path
    layers: tuple[Path, ...]

    @property
    def fingerprint(self) -> str:
        """What an execution environment was built from: a new one after any change."""
        return hashlib.sha256(repr((self.handler, self.runtime, self.timeout, self.role_arn,
                                    sorted(self.environment.items()), self.code,
                                    self.layers)).encode()).hexdigest()

    @property
    def python_version(self) -> str:
        """``python3.11`` -> ``3.11``."""
        return self.runtime.removeprefix("python")

    def search_path(self, sdk: Path) -> list[str]:
        """Lambda's module search path: task root, layers (the last one wins), runtime SDK."""
        layers = [p for layer in reversed(self.layers) for p in (
            layer / "python" / "lib" / f"python{self.python_version}" / "site-packages",
            layer / "python")]
        return [str(self.code), *map(str, layers), str(sdk)]


class CodeStore:
    """Where function code and layers are unpacked, as Lambda unpacks them.

    Each zip is extracted once per content digest (a cache shared by every local run), from
    the bytes the embedded Lambda holds for the function or layer version: what was
    deployed last, whether from the template or from an ``UpdateFunctionCode``.

    Every invocation asks for its function's folders, and digesting a layer of 150 MB each
    time cost the demo a tenth of a second per stage. The embedded Lambda keeps one bytes
    object per deployed zip until the next deploy replaces it, so the folder is remembered
    per object: the object is held with its folder, so its identity cannot be reused while
    it is remembered, and a new deploy (a new object) is digested again.
    """

    #: Bytes objects remembered with their folder: more than the functions and layers of a
    #: deployment, so only objects no longer deployed are forgotten.
    REMEMBERED = 64

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._folders: dict[int, tuple[bytes, Path]] = {}

    def unpack(self, content: bytes) -> Path:
        """The folder holding the zip's files."""
        with self._lock:
            known = self._folders.get(id(content))
        if known is not None and known[0] is content:
            return known[1]
        target = self.cache / hashlib.sha256(content).hexdigest()[:24]
        with self._lock, held(target):
            if not (target / ".complete").exists():
                scratch = target.with_name(target.name + ".tmp")
                shutil.rmtree(scratch, ignore_errors=True)
                zipfile.ZipFile(io.BytesIO(content)).extractall(scratch)
                (scratch / ".complete").touch()
                shutil.rmtree(target, ignore_errors=True)
                scratch.rename(target)
            if len(self._folders) >= self.REMEMBERED:
                del self._folders[next(iter(self._folders))]  # the oldest
            self._folders[id(content)] = (content, target)
        return target

    def folder(self, bucket: str, key: str) -> Path:
        """The unpacked content of the zip at ``s3://bucket/key``."""
        return self.unpack(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def spec_of(function: Any, store: CodeStore) -> FunctionSpec:
    """Read a moto ``LambdaFunction``'s configuration and unpack its code and layers."""
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[function.account_id][function.region]
    layers = []
    for layer in function.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        assert version is not None, f"layer {layer['Arn']} of {function.function_name}"
        layers.append(store.unpack(version.code_bytes))
    return FunctionSpec(
        name=function.function_name, arn=function.function_arn, handler=function.handler,
        runtime=function.run_time, timeout=float(function.timeout),
        memory_mb=int(function.memory_size), role_arn=function.role,
        environment=dict(function.environment_vars or {}),
        code=store.unpack(function.code_bytes), layers=tuple(layers))


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"errorType": kind, "errorMessage": message}


class Worker:
    """One execution environment: a process that imported the handler and serves calls."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: IO[bytes]) -> None:
        self.spec = spec
        self.process = subprocess.Popen(
            [str(interpreter(spec.python_version)), "-I", "-S", str(BOOTSTRAP)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=environment,
            cwd=spec.code, text=True, encoding="utf-8")
        self.replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True,
                         name=f"lambda-{spec.name}-replies").start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put(None)

    @property
    def alive(self) -> bool:
        """Whether the environment can take another invocation."""
        return self.process.poll() is None

    def invoke(self, request_id: str, event: Any) -> dict[str, Any]:
        """Run one invocation; a timeout or a crash ends the environment, as in Lambda."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"request_id": request_id, "event": event}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return self._exited()
        try:
            line = self.replies.get(timeout=self.spec.timeout)
        except queue.Empty:
            self.stop()
            return _error("Sandbox.Timedout",
                          f"{request_id} Task timed out after {self.spec.timeout:.2f} seconds")
        if line is None:
            return self._exited()
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _exited(self) -> dict[str, Any]:
        code = self.process.wait()
        return _error("Runtime.ExitError",
                      f"RequestId: the function {self.spec.name} exited with status {code} "
                      "before answering (see its log)")

    def stop(self) -> None:
        """End the environment."""
        if self.alive:
            self.process.kill()
        self.process.wait()


@dataclass
class _Pool:
    fingerprint: str = ""
    idle: list[Worker] = field(default_factory=list)
    running: int = 0


class LambdaService:
    """Invokes deployed functions in warm worker processes, several per function at most."""

    def __init__(self, *, workdir: Path, store: CodeStore, credentials: Credentials,
                 base_environment: Mapping[str, str], max_workers: int = 2) -> None:
        self.workdir, self.store, self.credentials = workdir, store, credentials
        self.base_environment = dict(base_environment)
        self.max_workers = max_workers
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._pools: dict[str, _Pool] = {}
        self._workers: list[Worker] = []
        self._cond = threading.Condition()
        self._requests = itertools.count(1)
        #: Functions that could not start (import or handler errors), with Lambda's error.
        self.broken: dict[str, dict[str, Any]] = {}

    def log_path(self, function_name: str) -> Path:
        """The function's log (its CloudWatch Logs group, locally)."""
        return self.logs / f"{function_name}.log"

    def _environment(self, spec: FunctionSpec, index: int) -> dict[str, str]:
        tmp = self.workdir / "tmp" / f"{spec.name}-{index}"
        tmp.mkdir(parents=True, exist_ok=True)
        sdk = runtime_sdk(spec.runtime)
        region = self.base_environment.get("AWS_REGION", "us-east-1")
        reserved = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "TMPDIR": str(tmp), "LAMBDA_TASK_ROOT": str(spec.code), "_HANDLER": spec.handler,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{index}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "LAKEGUARD_FUNCTION_ARN": spec.arn, "LAKEGUARD_FUNCTION_TIMEOUT": str(spec.timeout),
            "LAKEGUARD_LAMBDA_PATH": json.dumps(spec.search_path(sdk)),
            **self.credentials(spec.role_arn),
        }
        return {**self.base_environment, **spec.environment, **reserved}

    def _acquire(self, spec: FunctionSpec) -> Worker:
        with self._cond:
            pool = self._pools.setdefault(spec.name, _Pool(spec.fingerprint))
            if pool.fingerprint != spec.fingerprint:  # code or configuration changed
                stale, pool.idle, pool.fingerprint = pool.idle, [], spec.fingerprint
                for worker in stale:
                    worker.stop()
            while True:
                while pool.idle:
                    worker = pool.idle.pop()
                    if worker.alive:
                        pool.running += 1
                        return worker
                if pool.running < self.max_workers:
                    pool.running += 1
                    index = next(self._requests)
                    break
                self._cond.wait()
        try:
            with self.log_path(spec.name).open("ab") as log:
                worker = Worker(spec, self._environment(spec, index), log)
        except BaseException:
            self._release(spec, None)
            raise
        with self._cond:
            self._workers.append(worker)
        return worker

    def _release(self, spec: FunctionSpec, worker: Worker | None) -> None:
        with self._cond:
            pool = self._pools.setdefault(spec.name, _Pool(spec.fingerprint))
            pool.running = max(0, pool.running - 1)
            if worker is not None and worker.alive and pool.fingerprint == spec.fingerprint:
                pool.idle.append(worker)
            elif worker is not None:
                worker.stop()
            self._cond.notify_all()

    def invoke(self, function: Any, event: Any) -> dict[str, Any]:
        """Invoke a moto ``LambdaFunction``; a reply holds ``result`` or ``errorType``."""
        spec = spec_of(function, self.store)
        worker = self._acquire(spec)
        try:
            reply = worker.invoke(f"local-{next(self._requests):08d}", event)
        finally:
            self._release(spec, worker)
        if reply.get("errorType") in INIT_ERRORS:
            self.broken[spec.name] = {**reply, "handler": spec.handler, "at": time.monotonic()}
        else:
            self.broken.pop(spec.name, None)
        return reply

    def close(self) -> None:
        """Stop every environment."""
        with self._cond:
            workers, self._workers = self._workers, []
            self._pools.clear()
        for worker in workers:
            worker.stop()
