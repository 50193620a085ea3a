"""Run a Glue job script on local Spark, staging its S3 inputs and outputs through files.

Local pyspark cannot read ``s3://`` offline (no hadoop-aws jars), so before the script
runs, every object named by an ``--input*`` argument is downloaded and the argument is
rewritten to local paths; ``--output_uri`` points at a temporary folder whose files are
uploaded to the real prefix afterwards. The script itself runs unchanged, as in Glue.
"""

from __future__ import annotations

import json
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

from lakeguard.aws import client
from lakeguard.local.spark import local_spark
from lakeguard.s3io import download_path, split_uri, upload_path


def _download(uri: str, folder: Path, index: int) -> str:
    bucket, key = split_uri(uri)
    target = folder / f"input-{index}" / Path(key).name
    target.parent.mkdir(parents=True, exist_ok=True)
    download_path(client("s3"), bucket, key, target)
    return str(target)


def _upload(folder: Path, uri: str) -> list[str]:
    bucket, prefix = split_uri(uri)
    s3 = client("s3")
    keys = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")):
            key = prefix + path.relative_to(folder).as_posix()
            upload_path(s3, path, bucket, key)
            keys.append(key)
    return keys


def localise_arguments(arguments: dict[str, str], workdir: Path) -> tuple[dict[str, str], Path | None]:
    """Download ``--input*`` objects and point ``--output_uri`` at a local folder."""
    local = dict(arguments)
    output_dir = None
    for name, value in arguments.items():
        if name.startswith("--input"):
            uris: list[str] = json.loads(value) if value.startswith("[") else [value]
            paths = [_download(u, workdir, i) for i, u in enumerate(uris)]
            local[name] = json.dumps(paths) if value.startswith("[") else paths[0]
        elif name == "--output_uri":
            output_dir = workdir / "output"
            local[name] = str(output_dir) + "/"
    return local, output_dir


def run_glue_script(script: str, arguments: dict[str, Any]) -> list[str]:
    """Run a job script (its source text) with Glue-style arguments; return uploaded keys."""
    local_spark()  # the script's getOrCreate() picks up the shared session
    with tempfile.TemporaryDirectory(prefix="lakeguard-glue-") as tmp:
        workdir = Path(tmp)
        local_args, output_dir = localise_arguments({k: str(v) for k, v in arguments.items()},
                                                    workdir)
        script_path = workdir / "job.py"
        script_path.write_text(script, encoding="utf-8")
        argv = [str(script_path)]
        for name, value in local_args.items():
            argv += [name, value]
        saved = sys.argv
        sys.argv = argv
        try:
            runpy.run_path(str(script_path), run_name="__main__")
        finally:
            sys.argv = saved
        if output_dir is None or not output_dir.exists():
            return []
        return _upload(output_dir, str(arguments["--output_uri"]))

