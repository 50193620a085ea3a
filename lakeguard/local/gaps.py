"""Every workaround for a moto gap, one small function per gap (moto is pinned: 5.2.5).

Each function says what moto does, what AWS does, and how the gap is bridged. They
patch moto in-process, which works because the moto server runs in this process.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakeguard.local.glue_service import GlueService
    from lakeguard.local.lambda_service import LambdaService

#: Called before every invocation with (handler, event); a hook that raises makes that
#: invocation fail with the exception's type, as a failing function would.
INVOKE_HOOKS: list[Callable[[str, dict[str, Any]], None]] = []
#: Called after every invocation with (handler, event, reply): the reply holds ``result``
#: or Lambda's ``errorType`` (see ``LocalLake.in_order``).
INVOKED_HOOKS: list[Callable[[str, dict[str, Any], dict[str, Any]], None]] = []
#: Called with the job name before every Glue job run; a hook returning an error code
#: (e.g. ``ConcurrentRunsExceededException``) makes ``StartJobRun`` answer with it.
GLUE_HOOKS: list[Callable[[str], str | None]] = []


def route_lambda_to_worker_processes(
    service: LambdaService, on_invoke: Callable[[str, dict[str, Any]], None] | None = None,
) -> None:
    """Gap: without Docker, moto never runs function code (it echoes the payload).

    Bridge: patch ``LambdaFunction.invoke`` to hand the event to the function's own
    execution environment (:class:`lakeguard.local.lambda_service.LambdaService`: its
    asset, its layers, its role, in a separate process). An error becomes an ``Unhandled``
    function error whose ``errorType`` is Lambda's, exactly what Step Functions'
    Retry/Catch match on in AWS. ``on_invoke`` and ``INVOKE_HOOKS`` (see
    ``LocalLake.inject``) run first, so tests and users can inject faults and delays;
    ``INVOKED_HOOKS`` are told each reply.
    """
    from moto.awslambda.models import LambdaFunction

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> str:
        event = json.loads(body) if isinstance(body, str | bytes) and body else (body or {})
        try:
            for hook in [*([on_invoke] if on_invoke else []), *INVOKE_HOOKS]:
                hook(self.handler, event)
        except Exception as err:
            reply: dict[str, Any] = {"errorType": getattr(err, "error_type", type(err).__name__),
                                     "errorMessage": str(err)}
        else:
            reply = service.invoke(self, event)
        for done in list(INVOKED_HOOKS):
            done(self.handler, event, reply)
        if "errorType" in reply:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(reply)
        return json.dumps(reply["result"])

    LambdaFunction.invoke = invoke  # type: ignore[method-assign,assignment]


def run_glue_jobs_in_worker_processes(service: GlueService) -> None:
    """Gap: moto's ``start_job_run`` records a run that reports SUCCEEDED and runs nothing.

    Bridge: run the job's real script (its ``ScriptLocation``, with its ``--extra-py-files``
    and ``--additional-python-modules``, as its role) in its own Spark process
    (:class:`lakeguard.local.glue_service.GlueService`), inside ``start_job_run``. A
    failing script raises ``JobRunFailed``; Step Functions sees ``Glue.JobRunFailed`` and
    the pipeline's Catch quarantines the object.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.glue.models import FakeJob

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
        try:
            service.run(self.name, self.role, self.command["ScriptLocation"],
                        {k: str(v) for k, v in arguments.items()})
        except Exception as err:
            raise JobRunFailed(f"{type(err).__name__}: {err}") from err
        return run_id

    FakeJob.start_job_run = start_job_run  # type: ignore[method-assign,assignment]


#: moto's service prefix (the endpoint's) and action name -> IAM's, where they differ for
#: the calls the lake makes.
_IAM_SERVICES = {"monitoring": "cloudwatch"}
_IAM_ACTION_NAMES = {"lambda:Invoke": "lambda:InvokeFunction"}


def _iam_action(action: str) -> str:
    service, _, name = action.partition(":")
    named = f"{_IAM_SERVICES.get(service, service)}:{name}"
    return _IAM_ACTION_NAMES.get(named, named)


def evaluate_identity_policies_on_what_moto_knows() -> None:
    """Gap: moto's IAM checks read most requests as on resource ``*`` and no condition keys.

    moto passes the real resource only for S3 (``arn:aws:s3:::bucket/key``), SQS, IAM and
    STS; for every other service it checks the action against ``*``, which a statement
    naming its table or secret never matches, so every scoped grant would be denied. And
    a condition it has no value for turns an Allow into an explicit Deny. AWS evaluates
    both. moto also names some actions after the API call or endpoint rather than IAM
    (``lambda:Invoke``, ``monitoring:PutMetricData``), authorizes a batch ``DeleteObjects``
    once against the bucket where S3 checks ``s3:DeleteObject`` on each key, and
    recomputes SigV4 wrongly for some query-string requests (``ListFunctions``,
    ``ListSchedules`` answer SignatureDoesNotMatch). Bridge: IAM's action names; the
    caller is identified by its access key without re-checking the signature; a bucket
    resource for ``s3:DeleteObject`` counts as unknown; and for identity policies,
    a statement applies when its action matches and
    either its resources match the request's or moto does not know the resource; its
    conditions are taken as met. So actions are enforced for every service and resources
    for S3; resources elsewhere and conditions are checked on the templates
    (``tests/infra``), as the README lists. Trust policies keep moto's own evaluation.
    """
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase, PermissionResult

    original = IAMPolicyStatement.is_action_permitted
    IAMRequestBase.check_signature = lambda self: None  # type: ignore[method-assign]

    def is_action_permitted(self: Any, action: str, resource: str = "*",
                            principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        if principal is not None:  # a trust policy: AssumeRole by a principal
            return original(self, action, resource, principal, incoming_condition_values)
        action = _iam_action(action)
        if action == "s3:DeleteObject" and resource.count("/") == 0:
            resource = "*"  # a DeleteObjects batch, authorized against the bucket by moto
        statement = self._statement
        if "NotAction" in statement:
            concerned = not self._check_element_matches("NotAction", action)
        else:
            concerned = self._check_element_matches("Action", action)
        if not concerned:
            return PermissionResult.NEUTRAL
        if resource != "*":
            if "NotResource" in statement:
                if self._check_element_matches("NotResource", resource):
                    return PermissionResult.NEUTRAL
            elif not self._check_element_matches("Resource", resource):
                return PermissionResult.NEUTRAL
        return (PermissionResult.PERMITTED if statement["Effect"] == "Allow"
                else PermissionResult.DENIED)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def sign_step_functions_calls_as_its_role(credentials: Callable[[], dict[str, str]]) -> None:
    """Gap: moto's ASL interpreter calls Lambda, Glue and SNS with fixed fake keys.

    AWS makes those calls with the state machine's role. Bridge: give the interpreter's
    clients the credentials ``credentials()`` returns (the pipeline role's), so what the
    state machine may invoke, start and publish is enforced like everything else. The
    interpreter asks for a client at every task; one is made per service, endpoint and
    keys and then shared (boto3 clients are thread-safe), which saves building a client
    (tens of milliseconds) between each two stages of every execution.
    """
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    made: dict[tuple[str, ...], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        keys = credentials()
        endpoint = f"http://localhost:{moto_server_port()}"
        which = (region, service, endpoint, keys["AWS_ACCESS_KEY_ID"],
                 keys["AWS_SECRET_ACCESS_KEY"], keys.get("AWS_SESSION_TOKEN") or "")
        with lock:  # boto3's default session is not safe to make clients from at once
            if which not in made:
                made[which] = boto3.client(  # type: ignore[call-overload]
                    service_name=service, region_name=region, endpoint_url=endpoint,
                    aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=keys.get("AWS_SESSION_TOKEN"),
                    config=Config(parameter_validation=False,
                                  retries={"max_attempts": 0, "total_max_attempts": 1},
                                  connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                                  read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS))
            return made[which]

    for module in [boto_client, *sys.modules.values()]:
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


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


def create_functions_with_their_layers() -> None:
    """Gap: moto's ``AWS::Lambda::Function`` drops ``Layers`` and ``Architectures``.

    A function created from the template would then run without its dependency layer
    (AWS gives it the layer). Bridge: pass both on to ``CreateFunction``, as CloudFormation
    does; everything else moto already takes from the template.
    """
    from moto.awslambda.models import LambdaFunction, lambda_backends

    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, /, resource_name: str, cloudformation_json: dict[str, Any],
               account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        create_function = backend.create_function

        def with_layers(spec: dict[str, Any]) -> Any:
            # moto resolves a Ref to a layer version as the object, not its ARN.
            spec["Layers"] = [getattr(layer, "arn", layer) for layer in properties.get("Layers", [])]
            if "Architectures" in properties:
                spec["Architectures"] = properties["Architectures"]
            return create_function(spec)

        backend.create_function = with_layers  # type: ignore[method-assign]
        try:
            return original(cls, resource_name, cloudformation_json, account_id, region_name,
                            **kwargs)
        finally:
            del backend.create_function  # the instance attribute; the method shows again

    LambdaFunction.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


#: The Lambda concurrency quota the embedded account reports (AWS's default for an
#: established account; tests lower it to see a new account's 10).
LAMBDA_CONCURRENCY_QUOTA = {"ConcurrentExecutions": 1000}


def answer_lambda_account_settings() -> None:
    """Gap: moto has no ``GetAccountSettings`` (it answers 404 "Not yet implemented").

    ``lakeguard doctor`` reads the account's concurrency quota there before a deploy.
    Bridge: route the call and answer with ``LAMBDA_CONCURRENCY_QUOTA`` minus what the
    deployed functions reserve, the figures AWS reports.
    """
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    def get_account_settings(self: Any) -> tuple[int, dict[str, str], str]:
        functions = self.backend.list_functions()
        limit = LAMBDA_CONCURRENCY_QUOTA["ConcurrentExecutions"]
        reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
        return 200, {}, json.dumps({
            "AccountLimit": {"ConcurrentExecutions": limit,
                             "UnreservedConcurrentExecutions": limit - reserved,
                             "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
                             "TotalCodeSize": 80530636800},
            "AccountUsage": {"FunctionCount": len(functions), "TotalCodeSize": 0}})

    LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


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

    # From the clock, not 1: a persistent lake restored after a restart keeps its entries'
    # sequencers, and a new drop must still come after them.
    counter = itertools.count(time.time_ns())

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

    original = GlueResponse.update_table
    if getattr(original, "refuses_stale_versions", False):
        return  # bridged already (a lake and a scratch lake in one process)
    lock = threading.Lock()

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

    update_table.refuses_stale_versions = True  # type: ignore[attr-defined]
    GlueResponse.update_table = update_table  # type: ignore[method-assign]


def accept_custom_resource_responses_unsigned() -> None:
    """Gap: with IAM enforced, moto requires a signature on a custom resource's response.

    AWS gives the backing function a pre-signed S3 URL: the URL is the authorization, and
    ``cfnresponse`` sends a bare ``PUT``. moto checks that request like any API call and
    fails on the missing ``Authorization`` header, so the stack waits for ever. Bridge:
    let moto's CloudFormation response endpoint (``ProcessCfnResponse``) through unsigned.
    """
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self: Any, resource: str = "*") -> None:
        if self._get_action() == "ProcessCfnResponse":
            return
        original(self, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


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


def find_each_requests_backend_once() -> None:
    """Gap: moto's server looks for a request's service afresh on every request.

    Under one lock for the whole server, it lists its own package folder (some 200
    ``isdir`` calls) and then matches the host against hundreds of URL patterns: a tenth
    of the lake's CPU in the demo, spent while every other request waits. The answer only
    depends on the host (``s3.us-east-1.amazonaws.com``...), the folder and the patterns,
    which do not change while it runs. Bridge: list the folder once and remember each
    host's backend; what moto answers is the same.
    """
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "remembers_hosts", False):
        return  # bridged already (a lake and a scratch lake in one process)
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment,return-value]
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:  # called under the dispatcher's lock
            found[host] = original(self, host)
        return found[host]

    get_backend_for_host.remembers_hosts = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def parse_each_state_machine_definition_once() -> None:
    """Gap: moto's Step Functions interpreter parses the definition for every execution.

    Its ASL parser is ANTLR's pure-Python runtime: a tenth of a second of the lake's CPU
    per execution, while every request of the functions waits on the same interpreter
    lock. AWS compiles a state machine once. The syntax tree depends only on the
    definition's text and nothing changes it once built; the evaluation components built
    from it hold an execution's state. Bridge: keep each definition's syntax tree and
    build fresh components from it for every execution, as the parser does after parsing;
    a definition that does not parse is parsed (and refused) again every time.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse
    if getattr(original, "remembers_trees", False):
        return  # bridged already (a lake and a scratch lake in one process)
    trees: dict[str, Any] = {}
    lock = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        with lock:
            tree = trees.get(definition)
        if tree is not None:
            return Preprocessor().visit(tree), tree
        program, tree = original(definition)
        with lock:
            trees[definition] = tree
        return program, tree

    parse.remembers_trees = True  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]
