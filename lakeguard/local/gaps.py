"""Every workaround for a moto gap, one small function per gap (moto is pinned: 5.2.5).

Each function says what moto does, what AWS does, and how the gap is bridged. They
patch moto in-process, which works because the moto server runs in this process.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakeguard.local.glue_runner import run_glue_script

#: Called before every in-process invocation with (handler, event); a hook that raises
#: makes that invocation fail with the exception's type, as a failing function would.
INVOKE_HOOKS: list[Callable[[str, dict[str, Any]], None]] = []
#: Called with the job name before every Glue job run; a hook returning an error code
#: (e.g. ``ConcurrentRunsExceededException``) makes ``StartJobRun`` answer with it.
GLUE_HOOKS: list[Callable[[str], str | None]] = []
#: In-process handlers share os.environ: invocations run one at a time.
_INVOKE_LOCK = threading.RLock()
#: What the Lambda asset holds at its root (lambdas/, lakeguard/, datasets/).
_HANDLER_ROOT = str(Path(__file__).resolve().parents[2])


class LocalLambdaContext:
    """The attributes of a Lambda context object that Powertools and handlers read."""

    def __init__(self, function_name: str, memory: int, arn: str) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = memory
        self.invoked_function_arn = arn
        self.aws_request_id = "local"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Report plenty of time: local runs have no Lambda timeout."""
        return 900_000


def invoke_handler(handler_path: str, environment: dict[str, str], event: Any,
                   context: LocalLambdaContext) -> Any:
    """Import ``module.function`` and call it with the function's environment applied."""
    module_name, _, function_name = handler_path.rpartition(".")
    with _INVOKE_LOCK:
        # Variables are set, never removed: Spark, subprocesses and the moto server iterate
        # os.environ from other threads, and a key removed meanwhile raises KeyError there.
        # The stages share one environment, so what one function leaves set is harmless.
        os.environ.update({k: str(v) for k, v in environment.items()})
        handler = getattr(importlib.import_module(module_name), function_name)
        return handler(event, context)


def route_lambda_to_in_process_handlers(
    on_invoke: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """Gap: without Docker, moto never runs function code (it echoes the payload).

    Bridge: patch ``LambdaFunction.invoke`` to import the function's configured handler
    (e.g. ``lambdas.validate.handler``) and call it in-process. A raised exception becomes an
    ``Unhandled`` function error whose ``errorType`` is the exception class name, exactly
    what Step Functions' Retry/Catch match on in AWS. ``on_invoke`` and ``INVOKE_HOOKS``
    (see ``LocalLake.inject``) let tests and users inject faults and delays.
    """
    from moto.awslambda.models import LambdaFunction

    if _HANDLER_ROOT not in sys.path:  # as /var/task is on a Lambda's path
        sys.path.insert(0, _HANDLER_ROOT)

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> str:
        event = json.loads(body) if isinstance(body, str | bytes) and body else (body or {})
        context = LocalLambdaContext(self.function_name, int(self.memory_size or 128),
                                     self.function_arn)
        try:
            for hook in [*([on_invoke] if on_invoke else []), *INVOKE_HOOKS]:
                hook(self.handler, event)
            result = invoke_handler(self.handler, dict(self.environment_vars or {}), event,
                                    context)
        except Exception as err:
            response_headers["x-amz-function-error"] = "Unhandled"
            kind = getattr(err, "error_type", type(err).__name__)  # e.g. Sandbox.Timedout
            return json.dumps({"errorType": kind, "errorMessage": str(err)})
        return json.dumps(result)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign,assignment]


def run_glue_jobs_on_local_spark() -> None:
    """Gap: moto's ``start_job_run`` records a run that reports SUCCEEDED and runs nothing.

    Bridge: run the job's real script (read from its ``ScriptLocation`` in S3) on local
    Spark inside ``start_job_run``. A failing script raises ``JobRunFailed``; Step Functions
    sees ``Glue.JobRunFailed`` and the pipeline's Catch quarantines the object.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.glue.models import FakeJob

    from lakeguard.s3io import read_bytes, split_uri

    original = FakeJob.start_job_run

    class JobRunFailed(JsonRESTError):
        def __init__(self, message: str) -> None:
            super().__init__("JobRunFailed", message)

    def start_job_run(self: Any, **kwargs: Any) -> str:
        for hook in GLUE_HOOKS:
            refusal = hook(self.name)
            if refusal is not None:
                raise JsonRESTError(refusal, f"injected: {refusal} for job {self.name}")
        run_id: str = original(self, **kwargs)
        arguments = {**self.default_arguments, **(kwargs.get("arguments") or {})}
        bucket, key = split_uri(self.command["ScriptLocation"])
        script = read_bytes(bucket, key).decode("utf-8")
        try:
            run_glue_script(script, arguments)
        except Exception as err:
            raise JobRunFailed(f"{type(err).__name__}: {err}") from err
        return run_id

    FakeJob.start_job_run = start_job_run  # type: ignore[method-assign,assignment]


def let_step_functions_wait_on_glue() -> None:
    """Gap: ``glue:startJobRun.sync`` fails in moto (``'NoneType' has no 'interrupt_all'``).

    The interpreter only creates the callback endpoint it later interrupts when the service
    supports WaitForTaskToken; LocalStack fixed that upstream, moto has not. Bridge: declare
    that pattern supported for Glue. The ASL keeps the ``.sync`` integration AWS runs.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue_service,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    glue_service._SUPPORTED_INTEGRATION_PATTERNS.add(
        ResourceCondition.WaitForTaskToken  # type: ignore[arg-type]
    )


def execute_state_machines_created_by_cloudformation() -> None:
    """Gap: CloudFormation puts state machines in moto's non-executing backend.

    Bridge: point the CloudFormation model at the executing (ASL interpreter) backend.
    """
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]


def inline_definition_substitutions(template: dict[str, Any]) -> dict[str, Any]:
    """Gap: moto ignores a state machine's ``DefinitionSubstitutions``.

    Bridge: fold them into the definition with ``Fn::Sub``, which CloudFormation itself
    applies the same way. The definition text is the synthesized one, untouched otherwise.
    """
    result = copy.deepcopy(template)
    for resource in result.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::StepFunctions::StateMachine" and \
                "DefinitionSubstitutions" in props:
            definition = props.pop("DefinitionString")
            variables = props.pop("DefinitionSubstitutions")
            body = _escape_for_sub(definition, set(variables))
            props["DefinitionString"] = {"Fn::Sub": [body, variables]}
    return result


def _escape_for_sub(definition: Any, names: set[str]) -> str:
    """Escape ``${...}`` that are not substitution names, so ``Fn::Sub`` leaves them alone."""
    if not isinstance(definition, str):
        raise TypeError("the state machine's DefinitionString must be a plain string "
                        "(stacks/orchestration.py loads it with DefinitionBody.from_string)")
    pattern = r"\$\{(?!(" + "|".join(map(re.escape, names)) + r")\})"
    return re.sub(pattern, "${!", definition)


#: Accounts that publish the AWS-managed layers the functions use (pandas, Powertools).
MANAGED_LAYER_ACCOUNTS = ("336392948345", "017000801446")


def accept_aws_managed_layers() -> None:
    """Gap: moto refuses layers it has not seen published, such as AWS-managed ones.

    The AWS SDK for pandas and Powertools layers live in AWS's own accounts. Bridge:
    accept layer ARNs from those accounts as they are; the in-process handlers get
    pandas, pyarrow and Powertools from the project's own environment instead.
    """
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._get_layers_data

    def get_layers_data(self: Any, arns: list[str]) -> Any:
        managed = [a for a in arns if a.split(":")[4] in MANAGED_LAYER_ACCOUNTS]
        own = [a for a in arns if a not in managed]
        return [{"Arn": a, "CodeSize": 0} for a in managed] + (original(self, own) if own else [])

    LambdaFunction._get_layers_data = get_layers_data  # type: ignore[method-assign,assignment]


def accept_cloudformation_tags_on_kms_keys() -> None:
    """Gap: moto's ``AWS::KMS::Key`` mishandles CloudFormation tags, and no key exists.

    It passes ``Key``/``Value`` tags to its API model, which expects ``TagKey``/``TagValue``,
    and the key silently fails to be created. Bridge: convert the tags before moto creates the key.
    """
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, name: str, template: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        props = template.get("Properties", {})
        props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]}
                         for t in props.get("Tags", [])]
        return original(cls, name, template, *args, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def quiet_unsupported_policy_resources() -> None:
    """Gap: moto's CloudFormation has no model for bucket, queue and topic policies.

    It warns once per resource. Locally nothing enforces IAM or resource policies anyway (the CDK tests
    and cdk-nag check them), so the known warnings are silenced; other warnings stay.
    """
    import logging
    import warnings

    class _KnownGaps(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not (record.getMessage().startswith("No Moto CloudFormation support for")
                        and record.getMessage().endswith("Policy"))

    logging.getLogger("moto").addFilter(_KnownGaps())
    warnings.filterwarnings("ignore",
                            message="Tried to parse AWS::(S3::Bucket|SQS::Queue|SNS::Topic)Policy")


def order_s3_events_with_a_sequencer() -> None:
    """Gap: moto's S3 -> EventBridge events all carry the same ``sequencer`` literal.

    AWS gives each event on a key a sequencer that grows with the order of the writes
    (compare after right-padding with zeros); lakeguard uses it to let the newest version
    of a key win whatever order executions finish in. Bridge: build moto's event (same
    fields as ``moto.s3.notifications._send_event_bridge_message``) with a strictly
    increasing 16-digit hex sequencer, and hand it to the same rules.
    """
    import itertools

    from moto.core.utils import unix_time
    from moto.events.models import events_backends
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3 import notifications

    counter = itertools.count(1)

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        event = copy.deepcopy(_BASE_EVENT_MESSAGE)
        event.update({
            "detail-type": notifications._detail_type(event_name), "source": "aws.s3",
            "account": account_id, "time": unix_time(), "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0", "bucket": {"name": bucket.name},
                "object": {"key": key.name, "size": key.size, "eTag": key.etag.replace('"', ""),
                           "version-id": key.version_id, "sequencer": f"{next(counter):016X}"},
                "request-id": "local", "requester": account_id,
                "source-ip-address": "127.0.0.1", "reason": event_name.split(":")[1],
            },
        })
        backend = events_backends[account_id][bucket.region_name]
        for bus in backend.event_buses.values():
            for rule in bus.rules.values():
                rule.send_to_targets(event, transform_input=False)

    notifications._send_event_bridge_message = send


def quiet_step_functions_evaluation_logs() -> None:
    """Gap: moto's ASL interpreter logs an ERROR dump for routine evaluation events.

    It does so whenever a Choice tests ``IsPresent`` on a missing field and whenever a
    Fail state is reached. AWS records these as execution history events, not errors; the
    dumps buried the demo's output. Bridge: keep that logger to CRITICAL; outcomes stay
    visible through the execution status, the quarantine reports and the ledger.
    """
    import logging

    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(
        logging.CRITICAL)


def refuse_stale_glue_table_versions() -> None:
    """Gap: moto's Glue ``UpdateTable`` ignores ``VersionId``; two commits both succeed.

    Iceberg commits through Glue with the table's version as an optimistic lock: AWS
    refuses an ``UpdateTable`` whose ``VersionId`` is not the current one
    (``ConcurrentModificationException``), and the writer reloads and retries (pyiceberg
    and Spark alike). moto applies every update, so of two writers that read the same
    version, one's rows are silently lost. Bridge: refuse a stale ``VersionId`` as AWS
    does, under a lock so that the check and the update are one step.
    """
    from moto.glue.exceptions import GlueClientError
    from moto.glue.responses import GlueResponse

    lock = threading.Lock()
    original = GlueResponse.update_table

    class ConcurrentModification(GlueClientError):
        def __init__(self, message: str) -> None:
            super().__init__("ConcurrentModificationException", message)

    def update_table(self: Any) -> Any:
        expected = self.parameters.get("VersionId")
        with lock:
            if expected is not None:
                name = (self.parameters.get("TableInput") or {}).get("Name")
                table = self.glue_backend.get_table(self.parameters.get("DatabaseName"), name)
                if str(expected) != str(table._current_version):
                    raise ConcurrentModification(
                        f"table {name}: version {expected} is not the current version "
                        f"{table._current_version}; reload the table and retry")
            return original(self)

    GlueResponse.update_table = update_table  # type: ignore[method-assign]


def answer_custom_resources_on_this_host() -> None:
    """Gap: moto gives a custom resource a response URL on ``host.docker.internal``.

    It expects the backing Lambda to run in a Docker container, from which the host is
    reached by that name; here the function runs on this host, where that name resolves to
    nothing and the stack waits for ever. AWS gives a pre-signed S3 URL the function can
    reach. Bridge: build the URL on ``localhost`` (moto's port is ``MOTO_PORT``), where the
    server answers ``cfnresponse`` as it would from a container.
    """
    from moto import settings

    settings.moto_server_host = lambda: "http://localhost"  # type: ignore[assignment]
