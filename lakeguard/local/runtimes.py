"""What the managed runtimes bring that the shipped artefacts do not: an interpreter and an SDK.

A Lambda function's code and layers are the project's; its Python and its boto3/botocore
are the runtime's. The embedded lake reproduces the latter here: a CPython of the runtime's
version, started without site-packages, and the AWS SDK version the runtime ships,
installed once into ``.cache/runtimes/``. Code that needs a newer botocore API than the
runtime has fails here as it would in Lambda.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lakeguard.cachelock import held
from lakeguard.exceptions import LocalRuntimeError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE = PROJECT_ROOT / ".cache" / "runtimes"

#: The AWS SDK inside Lambda's python3.11 runtime (``/var/lang/lib/python3.11/site-packages``)
#: as AWS documented it ("Runtime-included SDK versions"). AWS updates it in place now and
#: then; a function needing a newer API must ship botocore in its layer instead.
LAMBDA_SDK = {"python3.11": ("boto3==1.34.145", "botocore==1.34.145")}


def interpreter(version: str) -> Path:
    """A CPython ``version`` (``"3.11"``) to run a runtime's process with.

    This interpreter when it matches (started with ``-I -S`` it sees none of the project's
    packages), else ``python3.X`` on PATH, else a pyenv install.
    """
    base = Path(getattr(sys, "_base_executable", sys.executable))
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return base
    found = shutil.which(f"python{version}")
    if found:
        return Path(found)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True):
        return candidate
    raise LocalRuntimeError(
        f"the embedded lake runs Lambda's python{version} runtime, and no Python {version} "
        f"was found (python{version} on PATH or a pyenv install): install it, e.g. "
        f"`pyenv install {version}`")


def installed(name: str, requirements: tuple[str, ...] | list[str], what: str) -> Path:
    """A folder ``.cache/runtimes/<name>`` with ``requirements`` pip-installed, once.

    What a managed runtime brings itself (an SDK, a service's preinstalled libraries),
    installed for this machine; ``what`` names it in the error when pip fails.
    """
    folder = CACHE / name
    if (folder / ".complete").exists():
        return folder
    with held(folder):
        if (folder / ".complete").exists():  # installed while this process waited
            return folder
        scratch = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(scratch), *requirements], capture_output=True, text=True,
            check=False)
        if done.returncode != 0:
            raise LocalRuntimeError(f"could not install {what} ({', '.join(requirements)}) "
                                    f"into {folder}: {done.stderr.strip()[-800:]}")
        (scratch / ".complete").write_text("\n".join(requirements), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    return folder


def runtime_sdk(runtime: str) -> Path:
    """The folder holding the runtime's own boto3/botocore (installed once, then cached)."""
    try:
        pins = LAMBDA_SDK[runtime]
    except KeyError as err:
        raise LocalRuntimeError(f"no AWS SDK version recorded for the {runtime} runtime: add it "
                                "to LAMBDA_SDK in lakeguard/local/runtimes.py") from err
    return installed(f"{runtime}-sdk-{'-'.join(p.split('==')[1] for p in pins)}", pins,
                     f"the {runtime} runtime's SDK")
