"""The embedded Lambda runtime gives a function only what Lambda gives it.

GIVEN a function folder written here (no moto, no CDK), WHEN a worker process serves it,
THEN it sees its code, its layer and the runtime's SDK only, and fails the way Lambda does.
"""

import json
import sys

import pytest

from lakeguard.local.lambda_service import FunctionSpec, Worker
from lakeguard.local.runtimes import runtime_sdk

HANDLER = '''
import json, sys, time

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise KeyError("the event asked for it")
    if event.get("object"):
        return {"value": object()}
    try:
        import numpy  # installed for the tests, not in this function's layer
        numpy_found = True
    except ImportError:
        numpy_found = False
    import botocore
    print("a line for the log")
    return {"path": sys.path, "numpy": numpy_found, "botocore": botocore.__version__,
            "remaining": context.get_remaining_time_in_millis(), "name": context.function_name,
            "layered": __import__("helper").VALUE}
'''


@pytest.fixture
def function(tmp_path):
    code = tmp_path / "task"
    (code / "app").mkdir(parents=True)
    (code / "app" / "__init__.py").write_text("")
    (code / "app" / "main.py").write_text(HANDLER)
    layer = tmp_path / "layer" / "python"
    layer.mkdir(parents=True)
    (layer / "helper.py").write_text("VALUE = 'from the layer'\n")
    return FunctionSpec(name="fn", arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
                        handler="app.main.handler", runtime="python3.11", timeout=20.0,
                        memory_mb=128, role_arn="arn:aws:iam::123456789012:role/r",
                        environment={"GREETING": "hello"}, code=code,
                        layers=(tmp_path / "layer",))


def _worker(spec, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": spec.name,
           "LAKEGUARD_FUNCTION_ARN": spec.arn, "LAKEGUARD_FUNCTION_TIMEOUT": str(spec.timeout),
           "_HANDLER": spec.handler,
           "LAKEGUARD_LAMBDA_PATH": json.dumps(spec.search_path(runtime_sdk(spec.runtime)))}
    with (tmp_path / "fn.log").open("ab") as log:
        return Worker(spec, env, log)


def test_a_function_sees_its_code_layer_and_the_runtimes_sdk_only(function, tmp_path):
    worker = _worker(function, tmp_path)
    try:
        reply = worker.invoke("r1", {})
    finally:
        worker.stop()
    result = reply["result"]
    assert result["path"][0] == str(function.code)
    # no virtualenv, and of the interpreter's own install only the standard library
    assert not any(".venv" in p or (p.endswith("site-packages") and ".pyenv" in p)
                   for p in result["path"])
    assert result["numpy"] is False, "the project's virtualenv leaked into the function"
    assert result["botocore"] == "1.34.145"  # the python3.11 runtime's own SDK
    assert result["layered"] == "from the layer" and result["name"] == "fn"
    assert 0 < result["remaining"] <= 20_000
    assert "a line for the log" in (tmp_path / "fn.log").read_text()


def test_one_warm_process_serves_successive_invocations(function, tmp_path):
    worker = _worker(function, tmp_path)
    try:
        pid = worker.process.pid
        assert "result" in worker.invoke("r1", {}) and "result" in worker.invoke("r2", {})
        assert worker.alive and worker.process.pid == pid
    finally:
        worker.stop()


@pytest.mark.parametrize(("event", "kind", "text"), [
    ({"fail": True}, "KeyError", "the event asked for it"),
    ({"object": True}, "Runtime.MarshalError", "Unable to marshal response"),
])
def test_errors_come_back_with_lambdas_error_type(function, tmp_path, event, kind, text):
    worker = _worker(function, tmp_path)
    try:
        reply = worker.invoke("r1", event)
    finally:
        worker.stop()
    assert reply["errorType"] == kind and text in reply["errorMessage"]


def test_a_function_running_past_its_timeout_is_stopped_as_sandbox_timedout(function, tmp_path):
    from dataclasses import replace

    worker = _worker(replace(function, timeout=1.0), tmp_path)
    reply = worker.invoke("r1", {"sleep": 30})
    assert reply["errorType"] == "Sandbox.Timedout" and "1.00 seconds" in reply["errorMessage"]
    assert not worker.alive


@pytest.mark.parametrize(("handler", "kind", "text"), [
    ("app.missing.handler", "Runtime.ImportModuleError",
     "Unable to import module 'app.missing': No module named 'app.missing'"),
    ("app.main.nothing", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'app.main'"),
])
def test_a_handler_that_cannot_load_fails_every_invocation_as_lambda_says(function, tmp_path,
                                                                         handler, kind, text):
    from dataclasses import replace

    worker = _worker(replace(function, handler=handler), tmp_path)
    try:
        reply = worker.invoke("r1", {})
    finally:
        worker.stop()
    assert reply["errorType"] == kind and text in reply["errorMessage"]


def test_the_layer_wins_over_the_runtimes_sdk(function, tmp_path):
    fake = function.layers[0] / "python" / "botocore"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = 'from-the-layer'\n")
    worker = _worker(function, tmp_path)
    try:
        assert worker.invoke("r1", {})["result"]["botocore"] == "from-the-layer"
    finally:
        worker.stop()


def test_the_worker_runs_the_runtimes_python():
    from lakeguard.local.runtimes import interpreter

    assert interpreter(f"{sys.version_info.major}.{sys.version_info.minor}").is_file()


@pytest.mark.parametrize("bootstrap", ["lambda_bootstrap.py", "glue_bootstrap.py"])
def test_the_runtimes_themselves_import_nothing_of_the_project(bootstrap):
    """They run with -I -S beside the shipped code: importing lakeguard would fail there."""
    import ast
    from pathlib import Path

    import lakeguard.local

    tree = ast.parse((Path(lakeguard.local.__file__).parent / bootstrap).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "pyspark"}, imported
