"""The functions' one dependency layer, built at synth time from the lock file, without Docker.

Why owned rather than the AWS SDK for pandas managed layer: that layer builds pyarrow
without zstd, lz4 and brotli (aws-sdk-pandas issue 2445), ships other pyarrow/numpy
versions than the tests pin, and is published under one account per region and partition.
Here the layer holds exactly the packages of ``requirements/lambda-layer.txt`` (pinned,
generated from the ``lambda`` extra of ``pyproject.toml`` by ``make lock``), installed from
platform wheels for Lambda's CPU (``pip --platform manylinux2014_<arch> --only-binary``),
so what a function imports in AWS is what the end-to-end tests imported. Builds are cached
by the lock's digest under ``.cache/layers/``: synth stays fast after the first one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lakeguard.cachelock import held
from stacks.settings import PROJECT_ROOT

#: The Python of the Lambda runtime (``lambda_.Runtime.PYTHON_3_11``) and of Glue 5.
PYTHON_VERSION = "3.11"
RUNTIME = lambda_.Runtime.PYTHON_3_11
LOCK_FILE = PROJECT_ROOT / "requirements" / "lambda-layer.txt"
CACHE_DIR = PROJECT_ROOT / ".cache" / "layers"
#: Lambda's limit for a function's code plus all its layers, unzipped (250 MB, in MiB).
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
#: What a function never imports (``../shared/notes/lambda-layer.md``): type stubs, test
#: suites, C headers and Cython sources, Arrow Flight, numpy's build tools. Not stripped:
#: ``.so`` symbols (numpy breaks) and libarrow_substrait (pyarrow links to it).
TRIMMED = ("**/*.pyi", "**/tests", "**/*.pxd", "**/*.pyx", "**/*.pxi", "pyarrow/include",
           "pyarrow/src", "pyarrow/_pyarrow_cpp_tests*", "pyarrow/libarrow_flight.so*",
           "pyarrow/libarrow_python_flight.so*", "pyarrow/_flight*", "numpy/core/include",
           "numpy/distutils", "numpy/f2py", "zstandard/_cffi*", "hive_metastore",
           "pyiceberg/catalog/hive.py")
#: The AWS services the functions call (botocore keeps a 30 MB model of every service):
#: the others' models go. A call to a service not listed fails the end-to-end run with
#: ``UnknownServiceError``, which names it.
SDK_SERVICES = frozenset({"s3", "dynamodb", "glue", "secretsmanager", "cloudwatch",
                          "stepfunctions", "sts", "sso", "sso-oidc"})
#: Bumped when the build recipe changes, so cached builds are not reused across recipes.
_RECIPE = "1"
#: Where the Lambda runtime looks for a layer's Python packages (``/opt/python``).
LAYER_PACKAGES = "python"


class LayerBuildError(RuntimeError):
    """The dependency layer could not be built from the lock file."""


def wheel_platform(architecture: str, *, native: bool = False) -> str | None:
    """The pip platform tag of Lambda's CPU, or ``None`` for the build machine's own wheels.

    ``native`` serves the embedded lake on a machine that cannot load Linux wheels (macOS):
    the same pinned versions, built for the machine it runs on.
    """
    if native:
        return None
    return {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}[architecture]


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """Package name -> pinned version, from a ``name==version`` requirements file."""
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, sep, version = text.partition("==")
        if not sep or not version:
            raise LayerBuildError(f"{path}:{number}: expected 'name==version', got {text!r}; "
                                  "regenerate the file with `make lock`")
        pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def layer_digest(lock: Path, target: str | None) -> str:
    """Identity of one build: the lock's pins, the platform and the recipe."""
    pins = read_lock(lock)
    body = json.dumps({"pins": pins, "platform": target or f"native-{sys.platform}",
                       "python": PYTHON_VERSION, "trimmed": TRIMMED,
                       "services": sorted(SDK_SERVICES), "recipe": _RECIPE},
                      sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def _trim(packages: Path) -> None:
    for pattern in TRIMMED:
        for path in sorted(packages.glob(pattern), reverse=True):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
    for model in (packages / "botocore" / "data").glob("*/"):
        if model.name not in SDK_SERVICES:
            shutil.rmtree(model)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LayerBuildError(f"{what} failed ({' '.join(command[:6])} ...):\n"
                              f"{done.stderr[-2000:]}")


def compile_bytecode(folder: Path, what: str) -> None:
    """Compile every module under ``folder`` for the runtime, with unchecked hashes.

    Lambda's ``/var/task`` and ``/opt`` are read-only, so Python cannot cache what it
    compiles there: without bytecode in an asset every cold start compiles its modules
    again. Unchecked hashes, because CDK resets file dates when it zips an asset, which
    makes timestamp-checked ``.pyc`` files stale. Written only by the runtime's Python
    version: Lambda would ignore another version's files.
    """
    if sys.version_info[:2] == tuple(int(n) for n in PYTHON_VERSION.split(".")):
        _run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
              str(folder)], what)


def build_layer(architecture: str, *, lock: Path = LOCK_FILE, cache: Path = CACHE_DIR,
                native: bool = False) -> Path:
    """The layer folder (``python/...``) for ``architecture``, built once per lock digest.

    Its bytecode is compiled for the runtime (:func:`compile_bytecode`).
    """
    target = wheel_platform(architecture, native=native)
    folder = cache / f"{layer_digest(lock, target)}-{target or 'native'}"
    if (folder / ".complete").exists():
        return folder
    with held(folder):  # another process of this checkout may be building it now
        if not (folder / ".complete").exists():
            _build(folder, read_lock(lock), target)
    return folder


def _build(folder: Path, pins: dict[str, str], target: str | None) -> None:
    """pip-install ``pins`` for ``target`` into a scratch folder, then move it to ``folder``."""
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".build-") as scratch:
        work = Path(scratch) / "layer"
        packages = work / LAYER_PACKAGES
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                   "--disable-pip-version-check", "--no-compile", "--target", str(packages)]
        if target is not None:
            command += ["--platform", target, "--implementation", "cp",
                        "--python-version", PYTHON_VERSION, "--only-binary=:all:"]
        _run(command + [f"{name}=={version}" for name, version in sorted(pins.items())],
             f"installing the layer's {len(pins)} pinned packages for {target or 'this machine'}")
        _trim(packages)
        compile_bytecode(packages, "compiling the layer's bytecode")
        (work / ".complete").write_text(json.dumps(pins, sort_keys=True), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        work.rename(folder)


def folder_size(path: Path) -> int:
    """Bytes of every file under ``path``: what Lambda counts against the unzipped limit."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@jsii.implements(cdk.ILocalBundling)
class _LocalLayerBundling:
    """CDK local bundling: copy the cached build into the asset's output folder."""

    def __init__(self, architecture: str, native: bool) -> None:
        self.architecture, self.native = architecture, native

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        built = build_layer(self.architecture, native=self.native)
        shutil.copytree(built / LAYER_PACKAGES, Path(output_dir) / LAYER_PACKAGES,
                        dirs_exist_ok=True)
        return True


class DependencyLayer(Construct):
    """The lake's dependency layer for one CPU architecture.

    ``image`` is required by the bundling API, but Docker never runs: the local bundler
    always succeeds or raises with pip's reason.
    """

    def __init__(self, scope: Construct, construct_id: str, *, architecture: str,
                 native: bool = False) -> None:
        super().__init__(scope, construct_id)
        target = wheel_platform(architecture, native=native)
        self.layer = lambda_.LayerVersion(
            self, "Layer",
            description=f"lakeguard dependencies ({LOCK_FILE.name}, {target or 'native'})",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64 if architecture == "arm64"
                                      else lambda_.Architecture.X86_64],
            code=lambda_.Code.from_asset(
                str(LOCK_FILE.parent),
                asset_hash_type=cdk.AssetHashType.CUSTOM,
                asset_hash=layer_digest(LOCK_FILE, target),
                bundling=cdk.BundlingOptions(
                    image=RUNTIME.bundling_image,
                    local=_LocalLayerBundling(architecture, native)),
            ),
        )


def write_lock(pyproject: Path = PROJECT_ROOT / "pyproject.toml", lock: Path = LOCK_FILE,
               architecture: str = "arm64") -> dict[str, str]:
    """Resolve the ``lambda`` extra of pyproject.toml for Lambda and pin every package.

    pip's own resolver, asked for Lambda's platform, so the lock holds what a wheel
    install for that platform would take (``make lock``).
    """
    import tomllib

    wanted = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]["lambda"]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        target = wheel_platform(architecture)
        assert target is not None
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
              "--disable-pip-version-check", "--report", str(report), "--target",
              str(Path(scratch) / "t"), "--platform", target, "--implementation", "cp",
              "--python-version", PYTHON_VERSION, "--only-binary=:all:", *wanted],
             "resolving the lambda extra")
        resolved = {canonical(i["metadata"]["name"]): i["metadata"]["version"]
                    for i in json.loads(report.read_text())["install"]}
    lines = ["# The Lambda dependency layer, pinned: generated by `make lock` from the `lambda`",
             "# extra of pyproject.toml. Every package here goes into the layer, the AWS SDK",
             "# included: it shadows the runtime's older one, as the tests need.",
             *(f"{name}=={version}" for name, version in sorted(resolved.items()))]
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return resolved


if __name__ == "__main__":
    write_lock()
    print(f"wrote {LOCK_FILE.relative_to(PROJECT_ROOT)}")
