"""Object keys as producers write them: which can be processed, and where they land on disk.

S3 keys are any UTF-8 text. Keys with ``+``, ``%``, spaces or non-ASCII letters are
ordinary and are processed as they are: nothing here decodes them (an S3 event in
EventBridge carries the key as written). Some keys cannot be trusted as paths, though:
a ``..`` segment, read by a tool that maps keys to files (an export, ``aws s3 sync``),
leaves the folder it was meant for. Those are refused by Validate, with the reason, and
quarantined; and anything that writes objects to disk goes through :func:`export_path`,
which never leaves its root.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

#: Where an export puts the objects whose key cannot be a path (named by the key's digest).
UNSAFE_FOLDER = "_unsafe-keys"
#: Longest file name most file systems accept, in bytes.
_NAME_MAX = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be processed safely, or ``None`` when it can."""
    if not key:
        return "the key is empty"
    if _CONTROL.search(key):
        return ("the key holds a control character (a line break, a tab or a NUL): logs, "
                "CSV reports and shells would split or cut it; rename the object")
    if key.startswith("/"):
        return "the key starts with '/': rename the object without the leading slash"
    if key.endswith("/"):
        return "the key ends with '/': it is a folder marker, not a file; drop files into it"
    segments = key.split("/")
    if any(s in (".", "..") for s in segments):
        return ("the key has a '.' or '..' segment: tools that map keys to paths (exports, "
                "aws s3 sync) would write it outside its folder; rename the object")
    if "" in segments:
        return "the key has an empty segment ('//'): rename the object with single slashes"
    if any(len(s.encode("utf-8")) > _NAME_MAX for s in segments):
        return f"a segment of the key is longer than {_NAME_MAX} bytes: shorten the name"
    return None


def safe_name(key: str, default: str = "object") -> str:
    """The key's last segment, when it is usable as a file name; ``default`` otherwise."""
    name = key.rsplit("/", 1)[-1]
    return name if name and key_problem(name) is None else default


def export_path(root: Path, key: str) -> Path:
    """Where an object with ``key`` is written under ``root``: always inside ``root``.

    A key that is a safe path keeps its folders; any other goes to
    ``root/_unsafe-keys/<sha256 of the key>``, so no two keys share a file and none is lost.
    """
    if key_problem(key) is None and not key.startswith(f"{UNSAFE_FOLDER}/"):
        path = root.joinpath(*key.split("/"))
        if path.resolve().is_relative_to(root.resolve()):  # a symlink inside root, say
            return path
    return root / UNSAFE_FOLDER / hashlib.sha256(key.encode("utf-8")).hexdigest()
