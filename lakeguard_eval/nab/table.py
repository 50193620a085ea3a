"""A plain-text table of an :class:`~lakeguard_eval.nab.model.Evaluation`, for people at a terminal."""

from __future__ import annotations

from lakeguard_eval.nab.model import Evaluation

#: The profile whose row counts the table shows, when the evaluation has it.
COUNTS_PROFILE = "standard"


def format_evaluation(evaluation: Evaluation) -> str:
    """One row per file (raw score per profile, TP/FP/FN), then normalised scores and thresholds.

    Row counts are those of ``standard`` (or of the first profile when there is no
    ``standard``): they only depend on the threshold, so they differ between profiles only
    when their optimised thresholds do.
    """
    names = list(evaluation.profiles)
    counted = COUNTS_PROFILE if COUNTS_PROFILE in evaluation.profiles else names[0]
    rows = [["file", *names, f"TP ({counted})", "FP", "FN"]]
    for file in evaluation.files:
        counts = evaluation.profiles[counted].files[file]
        rows.append([file, *(f"{evaluation.profiles[p].files[file].score:.4f}" for p in names),
                     str(counts.tp), str(counts.fp), str(counts.fn)])
    rows.append(["normalised score", *(f"{evaluation.profiles[p].normalised:.2f}" for p in names),
                 "", "", ""])
    rows.append(["threshold", *(f"{evaluation.profiles[p].threshold:.10g}" for p in names), "", "", ""])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                  for column, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]
    rule = "  ".join("-" * width for width in widths)
    lines.insert(1, rule)
    lines.insert(len(lines) - 2, rule)
    return "\n".join(lines)
