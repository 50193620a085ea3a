"""Reading a detector's results in NAB's layout: ``<detector>/<category>/<detector>_<file>.csv``.

Published NAB results carry many columns (raw scores, labels, NAB's own per-row scores);
only ``timestamp`` and ``anomaly_score`` are read, so that scoring can never lean on an
answer already in the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lakeguard.exceptions import BenchmarkError

#: The only columns read from a results file.
RESULT_COLUMNS = ("timestamp", "anomaly_score")

#: A series' detector output: its timestamps and one anomaly score per timestamp.
DetectorOutput = tuple[pd.DatetimeIndex, npt.NDArray[np.float64]]


def read_results_folder(detector_dir: str | Path) -> dict[str, DetectorOutput]:
    """Every series of one detector's results folder, keyed ``<category>/<file>.csv``.

    The folder's name is the detector's name, as in NAB, and each file in a category folder
    must be named ``<detector>_<file>.csv``; other files at the top (NAB's score tables)
    are not results and are left alone.
    """
    root = Path(detector_dir)
    if not root.is_dir():
        raise BenchmarkError(f"no results folder {root}; pass a detector's folder in NAB layout, "
                             "e.g. NAB/results/numenta")
    detectors = _detector_folders(root)
    if detectors:
        example = next((name for name in detectors if name != "null"), detectors[0])
        raise BenchmarkError(
            f"{root} looks like a NAB results folder of several detectors ({', '.join(detectors)}); "
            f"pass one detector's folder instead, e.g. {root / example}"
        )
    prefix = f"{root.name}_"
    outputs = {}
    for category in _subfolders(root):
        for path in sorted(category.glob("*.csv")):
            if not path.name.startswith(prefix):
                raise BenchmarkError(f"{path} is not named {prefix}<file>.csv; NAB names the results "
                                     f"of detector {root.name!r} after it and its input file")
            outputs[f"{category.name}/{path.name.removeprefix(prefix)}"] = read_results_file(path)
    if not outputs:
        raise BenchmarkError(f"{root} holds no results: expected "
                             f"{root}/<category>/{prefix}<file>.csv files as NAB writes them")
    return outputs


def read_results_file(path: Path) -> DetectorOutput:
    """The timestamps and anomaly scores of one results CSV, nothing else."""
    try:
        frame = pd.read_csv(path, usecols=list(RESULT_COLUMNS), dtype={"anomaly_score": "float64"})
        timestamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], format="ISO8601"))
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise BenchmarkError(f"cannot read {path} as NAB results: it needs the columns "
                             f"{' and '.join(RESULT_COLUMNS)}, dates and numbers ({err})") from err
    return timestamps, frame["anomaly_score"].to_numpy()


def _subfolders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _detector_folders(root: Path) -> list[str]:
    """Sub-folders that are themselves detector folders (they hold ``<name>_*`` files)."""
    return [
        folder.name for folder in _subfolders(root)
        if any(folder.glob(f"{folder.name}_*")) or any(folder.glob(f"*/{folder.name}_*.csv"))
    ]
