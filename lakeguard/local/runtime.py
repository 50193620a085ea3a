"""The embedded lake: moto + the synthesized stacks + the shipped functions and jobs.

``LocalLake`` is what ``lakeguard demo``, ``lakeguard local run`` and the end-to-end tests
drive: files are put in the raw bucket and travel the real path (S3 -> EventBridge -> SQS
-> ingest Lambda -> the deployed state machine), nothing is called directly. Functions
run from their synthesized asset and layer in their own processes, Glue jobs from their
synthesized script in their own Spark process, each with its own role's credentials,
and IAM is enforced on every call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeguard import config
from lakeguard.aws import client
from lakeguard.cachelock import held
from lakeguard.config import Settings
from lakeguard.contracts import contract_for_key
from lakeguard.exceptions import LocalRuntimeError, RoutingError
from lakeguard.layout import run_id
from lakeguard.local import faults, gaps, iam
from lakeguard.local.cfn_models import register_missing_cloudformation_models
from lakeguard.local.cloudformation import DeployedStack, deploy_assembly
from lakeguard.local.glue_service import GlueService
from lakeguard.local.lambda_service import CodeStore, LambdaService
from lakeguard.local.ordering import InOrder
from lakeguard.local.server import EmbeddedAws, start_embedded_aws
from lakeguard.local.skipped import complete_skipped_resources
from lakeguard.pipeline.keys import UNSAFE_FOLDER, export_path
from lakeguard.pipeline.ledger import Ledger
from lakeguard.pipeline.ledger_check import LEDGER_FILE, RAW_VERSIONS_FILE, raw_object_versions
from lakeguard.pipeline.state import Clean, Publish
from lakeguard.s3io import download_path
from lakeguard.tables import names_of, read_table
from lakeguard.tables.export import CATALOG_FILE, describe_catalog

if TYPE_CHECKING:
    import pyarrow as pa

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Inputs of ``cdk synth``: a change to what they hold means synthesize again.
_SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "statemachines", "datasets", "lambdas",
                 "glue_jobs", "lakeguard", "requirements")
ZONES = ("raw", "clean", "refined", "quarantine", "artefacts")
#: Beside the synthesized assembly: the digest of the inputs it was made from.
SYNTH_DIGEST_FILE = "inputs.sha256"
UNSAFE_KEYS_FILE = "unsafe_keys.json"


@dataclass(frozen=True)
class RunResult:
    """What became of one file dropped into the raw bucket."""

    file: str
    key: str
    run_id: str
    status: str
    outcome: str
    rows_in: int | None
    rows_out: int | None
    seconds: float
    reason: str | None = None
    rows_rejected: int | None = None
    rows_suppressed: int | None = None
    k_achieved: int | None = None
    rows_warned: int | None = None


def inputs_digest(root: Path, context: dict[str, Any]) -> str:
    """Digest of what synthesis reads: the inputs' paths and bytes, and the context.

    Content, not modification times: a checkout, a copy or Python writing bytecode touches
    files without changing what ``app.py`` would produce.
    """
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode("utf-8"))
    for name in _SYNTH_INPUTS:
        path = root / name
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.exists() else []
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(root).as_posix().encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def local_context(env: str) -> dict[str, Any]:
    """The context the embedded lake synthesizes with: the environment, for this machine.

    The functions' CPU is this machine's (its processes must load the layer's wheels), and
    where Linux wheels cannot load at all (macOS) the layer is built from the same lock
    for this machine: the only differences from what ``cdk deploy`` ships.
    """
    return {"env": env, config.CONTEXT_ARCHITECTURE: config.host_architecture(),
            config.CONTEXT_NATIVE_LAYER: not sys.platform.startswith("linux")}


def synthesize(root: Path = PROJECT_ROOT, env: str = "dev", force: bool = False) -> Path:
    """Run ``python app.py`` (what ``cdk synth`` runs), unless already run on these inputs.

    The assembly keeps the digest of the inputs it was made from (:func:`inputs_digest`).
    """
    assembly = root / "cdk.out" / f"local-{env}"
    context = local_context(env)
    digest, recorded = inputs_digest(root, context), assembly / SYNTH_DIGEST_FILE
    with held(assembly):  # another command of this checkout may be synthesizing it now
        if (not force and (assembly / "manifest.json").exists() and recorded.is_file()
                and recorded.read_text(encoding="utf-8") == digest):
            return assembly
        done = subprocess.run(
            [sys.executable, "app.py"], cwd=root, capture_output=True, text=True, check=False,
            env={**os.environ, "CDK_OUTDIR": str(assembly),
                 "CDK_CONTEXT_JSON": json.dumps(context)},
        )
        if done.returncode != 0:
            raise LocalRuntimeError(f"`python app.py` failed:\n{done.stderr[-3000:]}")
        recorded.write_text(digest, encoding="utf-8")
    return assembly


def _report_stages(sfn: Any, arn: str, seen: int, on_stage: Callable[[str], None]) -> int:
    """Call ``on_stage`` for each state entered since the first ``seen``; return the new count."""
    events = [e for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn) for e in page["events"] if "stateEnteredEventDetails" in e]
    for event in events[seen:]:
        on_stage(event["stateEnteredEventDetails"]["name"])
    return len(events)


@dataclass(frozen=True)
class Submitted:
    """A file put into the raw bucket whose execution has not been waited for yet."""

    file: str
    key: str
    version_id: str | None
    run_id: str
    started: float


#: Shortest fixed key accepted: an HMAC key shorter than 128 bits is guessable.
MIN_KEY_LENGTH = 16


def check_key_length(key: str) -> None:
    """Refuse a fixed key too short to keep pseudonyms from being reversed by guessing."""
    if len(key) < MIN_KEY_LENGTH:
        raise LocalRuntimeError(
            f"a fixed pseudonymisation key needs at least {MIN_KEY_LENGTH} characters (set "
            f"{config.ENV_LOCAL_PSEUDONYM_KEY} to a long random value, e.g. openssl rand -hex 32)")


def fix_pseudonym_key(secret_id: str, key: str) -> str:
    """Make ``key`` the current version of the deployed pseudonymisation secret.

    The deploy generated a random key, as in AWS; a fixed one makes local runs give the
    same pseudonyms from one start to the next, so their outputs can be compared and
    joined. Returns the new version id (the key itself is never printed).
    """
    check_key_length(key)
    version: str = client("secretsmanager").put_secret_value(
        SecretId=secret_id, SecretString=key)["VersionId"]
    return version


class LocalLake:
    """A deployed lakeguard on the embedded AWS.

    ``pseudonym_key`` (or the ``LAKEGUARD_LOCAL_PSEUDONYM_KEY`` environment variable)
    fixes the pseudonymisation key after deploy, so pseudonyms are the same across runs.
    """

    def __init__(self, env: str = "dev", port: int | None = None,
                 on_invoke: Callable[[str, dict[str, Any]], None] | None = None,
                 assembly: Path | None = None, workers_per_function: int = 2,
                 pseudonym_key: str | None = None) -> None:
        self.env, self.port, self.on_invoke = env, port, on_invoke
        #: Explicit key, else the environment's, else the one generated at deploy.
        self.pseudonym_key = pseudonym_key if pseudonym_key is not None \
            else os.environ.get(config.ENV_LOCAL_PSEUDONYM_KEY) or None
        self.assembly, self.workers_per_function = assembly, workers_per_function
        self.aws: EmbeddedAws | None = None
        self.outputs: dict[str, str] = {}
        self.stacks: list[DeployedStack] = []
        self.workdir: Path | None = None
        self.functions: LambdaService | None = None
        self.jobs: GlueService | None = None

    def start(self, progress: Callable[[str], None] = lambda _: None) -> LocalLake:
        """Start moto, bridge its gaps, synthesize and deploy the stacks."""
        if self.pseudonym_key is not None:
            check_key_length(self.pseudonym_key)
        progress("starting the embedded AWS (moto server)")
        self.aws = start_embedded_aws(self.port)
        self.workdir = Path(tempfile.mkdtemp(prefix="lakeguard-lake-"))
        # This process acts as the lake's operator; every request is checked against IAM.
        for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(iam.operator_credentials())
        iam.enforce()
        gaps.evaluate_identity_policies_on_what_moto_knows()
        base = {name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "AWS_REGION",
                                                    "AWS_EC2_METADATA_DISABLED")}
        # Handlers log JSON per stage; locally, only warnings. No X-Ray daemon and no
        # CloudWatch Logs here: traces and EMF metrics stay off.
        base |= {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true",
                 "POWERTOOLS_METRICS_DISABLED": "true"}
        faults.FAULTS_FILE[:] = [self.workdir / "faults.json"]
        base[config.ENV_FAULTS] = str(faults.FAULTS_FILE[0])
        progress("synthesizing the CDK app (python app.py)")
        assembly = self.assembly or synthesize(env=self.env)
        store = CodeStore(PROJECT_ROOT / ".cache" / "unpacked")
        self.functions = LambdaService(
            workdir=self.workdir, store=store, credentials=iam.role_credentials,
            base_environment=base, max_workers=self.workers_per_function)
        self.jobs = GlueService(workdir=self.workdir, store=store,
                                credentials=iam.role_credentials, base_environment=base)
        gaps.route_lambda_to_worker_processes(self.functions, self.on_invoke)
        gaps.run_glue_jobs_in_worker_processes(self.jobs)
        gaps.let_step_functions_wait_on_glue()
        gaps.execute_state_machines_created_by_cloudformation()
        gaps.create_functions_with_their_layers()
        gaps.answer_lambda_account_settings()
        gaps.accept_cloudformation_tags_on_kms_keys()
        register_missing_cloudformation_models()
        gaps.quiet_unsupported_policy_resources()
        gaps.order_s3_events_with_a_sequencer()
        gaps.quiet_step_functions_evaluation_logs()
        gaps.refuse_stale_glue_table_versions()
        gaps.answer_custom_resources_on_this_host()
        gaps.accept_custom_resource_responses_unsigned()
        gaps.find_each_requests_backend_once()
        gaps.parse_each_state_machine_definition_once()
        progress("deploying the stacks into the embedded AWS")
        self.stacks = deploy_assembly(assembly)
        complete_skipped_resources(self.stacks)
        for stack in self.stacks:
            self.outputs.update(stack.outputs)
        machine_role = client("stepfunctions").describe_state_machine(
            stateMachineArn=self.outputs["StateMachineArn"])["roleArn"]
        gaps.sign_step_functions_calls_as_its_role(lambda: iam.role_credentials(machine_role))
        if self.pseudonym_key is not None:
            progress("putting the given pseudonymisation key (pseudonyms reproducible)")
            fix_pseudonym_key(self.outputs["PseudonymSecretArn"], self.pseudonym_key)
        return self

    def stop(self) -> None:
        """Stop the functions, the jobs and the embedded AWS."""
        for service in (self.functions, self.jobs):
            if service is not None:
                service.close()
        self.functions = self.jobs = None
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
            iam.enforce(False)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> LocalLake:
        return self.start() if self.aws is None else self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @contextmanager
    def refuse_glue_runs(self, refusal: Callable[[str], str | None]) -> Iterator[None]:
        """While in the block, ``refusal(job_name)`` may return an error code for StartJobRun."""
        gaps.GLUE_HOOKS.append(refusal)
        try:
            yield
        finally:
            gaps.GLUE_HOOKS.remove(refusal)

    @contextmanager
    def inject(self, fault: Callable[[str, dict[str, Any]], None]) -> Iterator[None]:
        """Run ``fault(handler, event)`` before every Lambda invocation while in the block.

        A fault that raises fails that invocation with the exception's type (raise
        ``TransientError`` to see the retries, anything else to see the quarantine); one
        that sleeps or waits delays it. See ``lakeguard.local.faults`` for ready-made ones.
        """
        gaps.INVOKE_HOOKS.append(fault)
        try:
            yield
        finally:
            gaps.INVOKE_HOOKS.remove(fault)

    def bucket(self, zone: str) -> str:
        """Physical name of a zone's bucket."""
        return self.outputs[f"{zone.capitalize()}BucketName"]

    def rows(self, zone: str, table: str) -> pa.Table:
        """Every row a reader of ``zone``'s ``table`` sees now (its current snapshot)."""
        return read_table(Settings.from_outputs(self.outputs), zone, table)

    def drop(self, path: Path, prefix: str, timeout: float = 600.0,
             on_stage: Callable[[str], None] | None = None) -> RunResult:
        """Put a file into the raw bucket under ``prefix`` and wait for its execution.

        ``on_stage`` is called with the name of each state the execution enters, as it
        enters it (progress for people watching a long file).
        """
        return self.wait(self.submit(path, prefix), timeout, on_stage)

    def drop_in_order(self, paths: Sequence[Path], prefix: str, ahead: int = 2,
                      timeout: float = 600.0,
                      on_stage: Callable[[int], Callable[[str], None] | None] | None = None,
                      ) -> Iterator[RunResult]:
        """Drop files with up to ``ahead`` more in flight than the one waited for, in order.

        Yields each file's result, in the order given, as its execution ends. What each
        run reads and commits of the lake is what dropping them one by one gives
        (:mod:`lakeguard.local.ordering`): only the stages before the models and Publish
        of the next files run meanwhile. ``on_stage(index)`` gives the stage callback of
        the file at ``index`` (see :meth:`drop`).
        """
        if ahead and self.aws is None:
            raise LocalRuntimeError(
                "files can only be dropped ahead into a lake this process runs (its hooks hold "
                "the runs in order); into a lake `local up` keeps, drop them one by one")
        order = InOrder(timeout)
        pending: deque[Submitted] = deque()
        files = iter(paths)
        gaps.INVOKE_HOOKS.append(order.before_invoke)
        gaps.INVOKED_HOOKS.append(order.after_invoke)
        try:
            for index in range(len(paths)):
                while len(pending) <= ahead and (path := next(files, None)) is not None:
                    with order.adding() as add:
                        pending.append(self.submit(path, prefix))
                        add(pending[-1].run_id)
                waited = pending.popleft()
                try:
                    yield self.wait(waited, timeout, on_stage(index) if on_stage else None)
                finally:
                    order.ended(waited.run_id)  # however it ended
        finally:
            for left in pending:  # the caller stopped early: hold nobody any more
                order.ended(left.run_id)
            gaps.INVOKE_HOOKS.remove(order.before_invoke)
            gaps.INVOKED_HOOKS.remove(order.after_invoke)

    def submit(self, path: Path, prefix: str) -> Submitted:
        """Put a file into the raw bucket under ``prefix``; its execution starts on its own."""
        started = time.monotonic()
        key = f"{prefix.rstrip('/')}/{path.name}"
        raw = self.bucket("raw")
        version = client("s3").put_object(Bucket=raw, Key=key, Body=path.read_bytes()) \
            .get("VersionId")
        return self._submitted(path.name, key, version, started)

    def _submitted(self, name: str, key: str, version: str | None, started: float) -> Submitted:
        try:
            dataset: str | None = contract_for_key(key).name
        except RoutingError:
            dataset = None
        return Submitted(name, key, version, run_id(dataset, self.bucket("raw"), key, version),
                         started)

    def wait_for_version(self, key: str, version_id: str, timeout: float = 600.0) -> RunResult:
        """Wait for the execution of a raw version put by someone else (redrive, a producer)."""
        return self.wait(self._submitted(key.rsplit("/", 1)[-1], key, version_id,
                                         time.monotonic()), timeout)

    def wait(self, submitted: Submitted, timeout: float = 600.0,
             on_stage: Callable[[str], None] | None = None) -> RunResult:
        """Wait for a submitted file's execution and say what became of it."""
        execution = self._wait(submitted.run_id, timeout, submitted.started, on_stage)
        return self._result(submitted.file, submitted.key, submitted.run_id, execution,
                            time.monotonic() - submitted.started)

    def check_functions(self, since: float = 0.0) -> None:
        """Fail, naming the function and what is missing, if one could not start since then.

        In AWS the same deployment fails every object: an ingest that cannot import
        starts no execution, a stage that cannot quarantines them all.
        """
        broken = {name: error for name, error in
                  (self.functions.broken if self.functions is not None else {}).items()
                  if error["at"] >= since}
        if broken:
            name, error = next(iter(broken.items()))
            raise LocalRuntimeError(
                f"the function {name} ({error['handler']}) cannot start: {error['errorType']}: "
                f"{error['errorMessage']}; its code asset or layer lacks it (see "
                "requirements/lambda-layer.txt and stacks/processing.py)")

    def _wait(self, run: str, timeout: float, since: float,
              on_stage: Callable[[str], None] | None = None) -> dict[str, Any]:
        sfn = client("stepfunctions")
        machine = self.outputs["StateMachineArn"]
        arn = f"{machine.replace(':stateMachine:', ':execution:')}:{run}"
        deadline = time.monotonic() + timeout
        entered = 0
        while time.monotonic() < deadline:
            try:
                execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            except sfn.exceptions.ExecutionDoesNotExist:
                execution = {"status": "NOT_STARTED"}
            if on_stage is not None and execution["status"] != "NOT_STARTED":
                entered = _report_stages(sfn, arn, entered, on_stage)
            if execution["status"] == "NOT_STARTED":
                self.check_functions(since)  # no execution will ever start
            elif execution["status"] != "RUNNING":
                if execution["status"] != "SUCCEEDED":
                    self.check_functions(since)
                return execution
            time.sleep(0.2)
        raise LocalRuntimeError(f"execution {run} did not finish within {timeout:.0f} s")

    def _result(self, name: str, key: str, run: str, execution: dict[str, Any],
                seconds: float) -> RunResult:
        if execution["status"] == "SUCCEEDED":
            output = json.loads(execution.get("output") or "{}")
            cleaned, published = Clean.find(output), Publish.find(output)

            def count(counted: str) -> Any:
                """Publish's count over the table where it made one, else Clean's."""
                value = getattr(published, counted, None)
                return getattr(cleaned, counted, None) if value is None else value

            return RunResult(name, key, run, "SUCCEEDED", "published", count("rows_in"),
                             count("rows_out"), round(seconds, 2), None,
                             count("rows_rejected"), count("rows_suppressed"),
                             count("k_achieved"), count("rows_warned"))
        report = self.quarantine_report(run)
        reason = report["reason"] if report else {"error": execution["status"], "message": ""}
        return RunResult(name, key, run, execution["status"],
                         "quarantined" if report else "lost", None, None, round(seconds, 2),
                         f"{reason['error']}: {reason['message']}")

    def quarantine_report(self, run: str) -> dict[str, Any] | None:
        """The quarantine report of a run, if it was quarantined."""
        bucket = self.bucket("quarantine")
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(f"/{run}/report.json"):
                    body = client("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"]
                    report: dict[str, Any] = json.loads(body.read())
                    return report
        return None

    def export(self, directory: Path, results: list[RunResult] | None = None,
               zones: tuple[str, ...] = ZONES) -> Path:
        """Copy every zone's (or ``zones``') objects to ``directory/<zone>/<key>``, and the ledger.

        ``ledger.json``, ``raw_versions.json`` and ``catalog.json`` (the tables' metadata
        locations) let ``lakeguard ledger check --local`` and ``query --local`` work offline.
        Nothing is written outside ``directory``: an object whose key cannot be a path there
        goes to ``<zone>/_unsafe-keys/<digest>``, listed with its key in ``unsafe_keys.json``.
        """
        s3 = client("s3")
        unsafe = []
        for zone in zones:
            bucket = self.bucket(zone)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    if obj["Key"].startswith("_staging/") or (
                            obj["Key"].endswith("/") and obj["Size"] == 0):
                        continue  # hand-offs in flight; empty folder markers S3 clients leave
                    target = export_path(directory / zone, obj["Key"])
                    if target.parent.name == UNSAFE_FOLDER:
                        unsafe.append({"zone": zone, "key": obj["Key"],
                                       "file": target.relative_to(directory).as_posix()})
                    target.parent.mkdir(parents=True, exist_ok=True)
                    download_path(s3, bucket, obj["Key"], target)
        if unsafe:  # keys that cannot be paths (a '..' segment...): filed by digest, listed
            (directory / UNSAFE_KEYS_FILE).write_text(json.dumps(unsafe, indent=2) + "\n",
                                                      encoding="utf-8")
        entries = Ledger(self.outputs["LedgerTableName"]).entries()
        (directory / LEDGER_FILE).write_text(
            json.dumps([e.to_json() for e in entries], indent=2) + "\n", encoding="utf-8")
        (directory / RAW_VERSIONS_FILE).write_text(
            json.dumps(raw_object_versions(self.bucket("raw")), indent=2) + "\n", encoding="utf-8")
        (directory / CATALOG_FILE).write_text(json.dumps(describe_catalog(
            names_of(Settings.from_outputs(self.outputs))), indent=2) + "\n", encoding="utf-8")
        if results is not None:
            (directory / "summary.json").write_text(
                json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
        return directory
