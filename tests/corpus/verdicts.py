"""What the Lambda path and the Spark path decide about one hostile file, side by side."""

from __future__ import annotations

import hashlib
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeguard.contracts import load_contract
from lakeguard.exceptions import LakeguardError, ValidationFailed
from lakeguard.pipeline.keys import key_problem
from lakeguard.pipeline.quality import check_rule
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.transforms.csvfile import check_header, read_header
from tests.corpus.hostile import PUBLISHED, QUARANTINED, Hostile

KEY = PseudonymKey("test", b"k" * 32)
PROBE = 65536
COUNTS = ("rows_in", "rows_out", "rows_rejected", "rows_warned", "rows_suppressed",
          "k_achieved")


@dataclass
class Verdict:
    """An outcome, the quarantine message, the counts and the rules that fired."""

    outcome: str
    message: str | None = None
    error: str | None = None
    #: The error as the Lambda runtime logs it: message and traceback, causes included.
    logged: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    rules: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def _published(report: dict[str, Any]) -> Verdict:
    rules: Counter[tuple[str, str, str]] = Counter()
    for kind in ("rejects", "warnings"):
        rules.update((kind, r["column"], r["rule"]) for r in report[kind])
    return Verdict(PUBLISHED, counts={c: report[c] for c in COUNTS}, rules=rules)


def lambda_verdict(hostile: Hostile, quality: bool = True) -> Verdict:
    """As Validate, Clean (and, with ``quality``, the quality gate) would decide."""
    contract = load_contract(hostile.dataset)
    try:
        problem = key_problem(hostile.key)
        if problem:
            raise ValidationFailed(problem)
        check_header(read_header(hostile.data[:PROBE], contract,
                                 whole=len(hostile.data) <= PROBE), contract)
        # as Clean does: classes are counted at Publish when k is counted over the table
        table, report = anonymise(hostile.data, contract, KEY,
                                  suppress_classes=contract.privacy.k_scope == "object")
    except ValidationFailed as err:
        return Verdict(QUARANTINED, str(err), type(err).__name__,
                       "".join(traceback.format_exception(err)))
    failures = [f for rule in contract.quality if (f := check_rule(table, rule))]
    if quality and failures:
        return Verdict(QUARANTINED, "; ".join(failures), "QualityGateFailed")
    return _published({**{c: getattr(report, c) for c in COUNTS},
                       "rejects": [r.__dict__ for r in report.rejects],
                       "warnings": [w.__dict__ for w in report.warnings]})


def spark_verdict(spark: Any, hostile: Hostile, folder: Path) -> Verdict:
    """As the Glue anonymise job decides (Validate's checks come before it in both paths)."""
    from lakeguard.glue.anonymise_job import run
    from lakeguard.glue.errors import spark_errors
    from lakeguard.local.scratch import SCRATCH

    path = folder / hostile.case / hostile.name.replace("/", "_")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hostile.data)
    try:
        with spark_errors("anonymise"):
            run_id = hashlib.sha256(f"{hostile.case}/{hostile.name}".encode()).hexdigest()[:16]
            report = run(spark, hostile.dataset, str(path), SCRATCH.clean_database, run_id, KEY)
    except LakeguardError as err:
        return Verdict(QUARANTINED, str(err), type(err).__name__)
    return _published(report.to_json())
