"""The embedded Glue worker: one warm Spark driver per job, run as its own process.

Started by :mod:`lakeguard.local.glue_service` as ``python -I -S glue_bootstrap.py``. Its
module path is what a Glue 5 job has: the job's ``--extra-py-files``, its
``--additional-python-modules`` and Spark (``LAKEGUARD_GLUE_PATH``), nothing from the
project's environment. It starts Spark once, then runs one job script per request, each
with its own ``sys.argv`` (``--name value`` as Glue passes them), in this process only:
two runs never share arguments.

This file imports nothing from lakeguard: it is the service, not the job.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from typing import Any


def _reply(stream: Any, document: dict[str, Any]) -> None:
    stream.write(json.dumps(document) + "\n")
    stream.flush()


def main() -> None:
    """Start Spark, then run the job scripts sent on stdin one at a time."""
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the job's prints and Spark's console go to the job's log
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8")
    sys.path[:0] = json.loads(os.environ["LAKEGUARD_GLUE_PATH"])
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in json.loads(os.environ.pop("LAKEGUARD_SPARK_CONF")).items():
        builder = builder.config(key, value)
    builder.getOrCreate().sparkContext.setLogLevel("ERROR")
    _reply(replies, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        saved = sys.argv
        sys.argv = [request["script"], *request["arguments"]]
        try:
            runpy.run_path(request["script"], run_name="__main__")
        except SystemExit as done:
            if done.code not in (None, 0):
                _reply(replies, {"errorType": "SystemExit", "errorMessage": f"exit {done.code}"})
                continue
        except Exception as err:
            traceback.print_exc()
            message = str(err).strip().splitlines()
            _reply(replies, {"errorType": type(err).__name__,
                             "errorMessage": (message[0] if message else "")[:1000]})
            continue
        finally:
            sys.argv = saved
        _reply(replies, {"ok": True})


if __name__ == "__main__":
    main()
