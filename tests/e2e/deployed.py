"""Edit what is deployed in the embedded lake, as an operator would, and put it back.

The functions run from their deployed code and layer in their own processes: a test that
wants a different contract or a broken package changes the deployment, not this process.
"""

import io
import zipfile
from contextlib import contextmanager

from moto.awslambda.models import lambda_backends

from lakeguard.aws import client
from lakeguard.local.cloudformation import ACCOUNT, REGION


def function_name(lake, stage):
    """The deployed function of a stage (``validate`` -> its physical name)."""
    prefix = "".join(part.title() for part in stage.split("_")) + "Function"
    for stack in lake.stacks:
        for logical, physical in stack.physical_ids.items():
            resource = stack.template["Resources"].get(logical, {})
            if logical.startswith(prefix) and resource.get("Type") == "AWS::Lambda::Function":
                return physical
    raise AssertionError(f"no {stage} function deployed")


def zipped(folder, replace=None):
    """The folder as a zip; ``replace`` maps relative paths to new bytes, or None to leave out.

    A ``None`` key prefix leaves out a whole folder (``python/pyarrow``).
    """
    replace = replace or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if not path.is_file():
                continue
            left_out = [p for p, body in replace.items() if body is None and relative.startswith(p)]
            if left_out:
                continue
            archive.writestr(relative, replace.get(relative) or path.read_bytes())
    return buffer.getvalue()


@contextmanager
def code_changed(lake, stage, replace):
    """Deploy the stage's code with files replaced or left out, and restore it afterwards."""
    lam = client("lambda")
    name = function_name(lake, stage)
    deployed = lambda_backends[ACCOUNT][REGION].get_function(name).code_bytes
    folder = lake.functions.store.unpack(deployed)
    lam.update_function_code(FunctionName=name, ZipFile=zipped(folder, replace))
    try:
        yield name
    finally:
        lam.update_function_code(FunctionName=name, ZipFile=deployed)


@contextmanager
def routed_to_glue(max_bytes=1024):
    """Lower the validate function's Lambda size limit, as an operator would, so objects
    above ``max_bytes`` go to the Glue anonymise job; put the limit back afterwards."""
    lam = client("lambda")
    validate = next(f for f in lam.list_functions()["Functions"]
                    if f["Handler"] == "lambdas.validate.handler")
    env = dict(validate["Environment"]["Variables"])
    lam.update_function_configuration(
        FunctionName=validate["FunctionName"],
        Environment={"Variables": {**env, "LAKEGUARD_LAMBDA_MAX_BYTES": str(max_bytes)}})
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=validate["FunctionName"],
                                          Environment={"Variables": env})
