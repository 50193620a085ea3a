"""What a failed Glue job reports: one line naming the failure, never a Java stack trace.

A Spark failure surfaces in Python as a Py4J error whose text is the whole Java stack
(2 KB and more), which became the Step Functions error cause, the quarantine reason and
the ledger entry. Worse, Spark's own messages may quote a row. The job scripts run inside
:func:`spark_errors`, which keeps the Java exception's class and Spark's error class
(``INCONSISTENT_BEHAVIOR_CROSS_VERSION.READ_ANCIENT_DATETIME``) and leaves the trace to
the job run's logs.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lakeguard.exceptions import LakeguardError, SparkJobFailed

#: Causes followed down a Java exception chain, at most.
_DEEPEST = 20
#: The last line of a Python traceback raised by lakeguard's code inside a Spark task.
_OURS = re.compile(r"^lakeguard\.[\w.]+\.(\w+): (.*)$", re.MULTILINE)


def _call(obj: Any, method: str) -> Any:
    """``obj.method()``, or ``None`` for a Java object without it (or a dead gateway)."""
    try:
        return getattr(obj, method)()
    except Exception:
        return None


def describe(err: BaseException) -> str | None:
    """One line naming a Spark failure, or ``None`` when ``err`` did not come from Spark."""
    java = getattr(err, "java_exception", None)  # py4j.protocol.Py4JJavaError
    if java is not None:
        return _java_cause(java)
    if type(err).__module__.startswith("pyspark."):
        found = _OURS.findall(str(err))
        if found:  # lakeguard raised it inside a task: its messages name no value
            name, message = found[-1]
            return f"{name}: {message}"
        error_class = _call(err, "getErrorClass")
        return type(err).__name__ + (f" [{error_class}]" if error_class else "")
    return None


def java_classes(err: BaseException) -> list[str]:
    """The class names down the Java cause chain of a Spark failure (empty for others)."""
    names: list[str] = []
    java = getattr(err, "java_exception", None)
    while java is not None and len(names) < _DEEPEST:
        names.append(_call(_call(java, "getClass"), "getName") or "a Java exception")
        java = _call(java, "getCause")
    return names


def _log_trace(err: BaseException) -> None:
    """Write where a Spark failure came from to the job's error log, without its messages.

    Every cause's class and stack frames are what an engineer needs to place the failure
    (``CreateOrReplaceBranchExec`` lost a commit race); the messages stay out, as a
    Spark message may quote a row.
    """
    lines = ["Spark failure (classes and frames; messages are left out as they may quote "
             "a row):"]
    java = getattr(err, "java_exception", None)
    depth = 0
    while java is not None and depth < _DEEPEST:
        prefix = "" if depth == 0 else "Caused by: "
        lines.append(prefix + (_call(_call(java, "getClass"), "getName") or "a Java exception"))
        lines += [f"    at {frame}" for frame in (_call(java, "getStackTrace") or [])]
        java, depth = _call(java, "getCause"), depth + 1
    if depth == 0:
        lines += [*traceback.format_tb(err.__traceback__), type(err).__qualname__]
    print("\n".join(line.rstrip("\n") for line in lines), file=sys.stderr)


def _java_cause(java: Any) -> str:
    """The Java exception that says what went wrong, by class and Spark error class.

    A job abort wraps a task failure, which wraps the real error: the deepest cause with a
    Spark error class is named, else the root cause.
    """
    chain: list[Any] = []
    while java is not None and len(chain) < _DEEPEST:
        chain.append(java)
        java = _call(java, "getCause")
    classed = [j for j in chain if _call(j, "getErrorClass")]
    culprit = classed[-1] if classed else chain[-1]
    name = _call(_call(culprit, "getClass"), "getName") or "a Java exception"
    error_class = _call(culprit, "getErrorClass")
    return f"{name}" + (f" [{error_class}]" if error_class else "")


@contextmanager
def spark_errors(job: str) -> Iterator[None]:
    """Turn a Spark failure inside the block into :class:`SparkJobFailed`, in one line."""
    try:
        yield
    except LakeguardError:
        raise
    except Exception as err:
        described = describe(err)
        if described is None:
            raise
        _log_trace(err)
        raise SparkJobFailed(f"the {job} job failed in Spark: {described}; the full trace is "
                             "in the job run's logs") from None
