"""Right to be forgotten: one data subject removed from every zone, tables and models.

Erasure is a command over the whole lake, not a privacy rule: it rewrites Iceberg tables
(:mod:`lakeguard.tables`), re-scores anomalies with the current models
(:mod:`lakeguard.ml`) and deletes raw object versions, using the privacy rules
(:mod:`lakeguard.privacy`) to find the subject. It therefore sits above all three, below
the pipeline and the CLI that call it.

* :mod:`.zones`: the command, over raw, quarantine, the ledger and the audit record;
* :mod:`.in_tables`: the Iceberg commits and the purge of old snapshots;
* :mod:`.rescore`: the anomalies of the affected keys, scored again.
"""

from __future__ import annotations

from lakeguard.erasure.zones import ErasureReport, erase

__all__ = ["ErasureReport", "erase"]
