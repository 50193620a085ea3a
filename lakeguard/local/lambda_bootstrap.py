"""The embedded Lambda runtime: one warm execution environment, run as its own process.

Started by :mod:`lakeguard.local.lambda_service` as ``python -I -S lambda_bootstrap.py``:
no site-packages and no project path, so the function sees only what Lambda would give it:
its code (``/var/task``), its layers (``/opt/python``) and the runtime's own AWS SDK, in
Lambda's order (``LAKEGUARD_LAMBDA_PATH``). It imports the handler once (the init phase)
and then serves invocations, one JSON line in and one JSON line out, until stdin closes.

This file imports nothing from lakeguard: it is the runtime, not the function.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class Context:
    """The Lambda context object: the attributes handlers and Powertools read."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ["LAKEGUARD_FUNCTION_ARN"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.aws_request_id = request_id
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.time()) * 1000))


def _error(kind: str, message: str, trace: list[str] | None = None) -> dict[str, Any]:
    return {"errorType": kind, "errorMessage": message, "stackTrace": trace or []}


def _load(handler: str) -> tuple[Any, dict[str, Any] | None]:
    """Import ``module.function`` as Lambda's init phase does, with Lambda's error names."""
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as err:
        return None, _error("Runtime.UserCodeSyntaxError",
                            f"Syntax error in module '{module_name}': {err}")
    except ImportError as err:
        return None, _error("Runtime.ImportModuleError",
                            f"Unable to import module '{module_name}': {err}")
    except Exception as err:  # an exception raised while the module initialises
        return None, _error(type(err).__name__, str(err), traceback.format_exc().splitlines())
    function = getattr(module, function_name, None)
    if function is None:
        return None, _error("Runtime.HandlerNotFound",
                            f"Handler '{function_name}' missing on module '{module_name}'")
    return function, None


def main() -> None:
    """Serve invocations until stdin closes."""
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # what the function prints goes to its log, as in Lambda
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8")
    sys.path[:0] = json.loads(os.environ.pop("LAKEGUARD_LAMBDA_PATH"))
    timeout = float(os.environ["LAKEGUARD_FUNCTION_TIMEOUT"])
    handler_name = os.environ["_HANDLER"]
    handler, init_error = _load(handler_name)
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        print(f"START RequestId: {request_id} Version: $LATEST", file=sys.stderr, flush=True)
        started = time.time()
        if init_error is not None:
            reply = init_error
        else:
            try:
                result = handler(request["event"], Context(request_id, started + timeout))
            except Exception as err:
                reply = _error(type(err).__name__, str(err), traceback.format_exc().splitlines())
            else:
                try:
                    reply = {"result": json.loads(json.dumps(result))}
                except (TypeError, ValueError) as err:
                    reply = _error("Runtime.MarshalError", f"Unable to marshal response: {err}")
        print(f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\t"
              f"Duration: {(time.time() - started) * 1000:.2f} ms", file=sys.stderr, flush=True)
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
