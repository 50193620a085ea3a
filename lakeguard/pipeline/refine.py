"""Refine stage (Lambda path): the run's clean rows -> staged rows of each refined table.

Objects that Clean anonymised in Lambda (at most ``lambda_max_bytes``) are refined here,
with the Arrow transforms the Glue refine job's Spark SQL twins are held to
(:mod:`lakeguard.transforms.refine`, ``tests/spark/test_refine_spark.py``).
A Glue job run takes tens of seconds to start and is billed for at least a minute: for the
small objects that make most of a lake's traffic, that minimum was nearly all of the bill
(``bench/cost_model.py``). Large objects still go to the Glue job (RefineLarge).

The rows are staged as Parquet under the run's staging prefix of the refined bucket, one
object per partition, where Publish and the model stages find them when there is no branch
(:mod:`lakeguard.pipeline.handoff`); Quarantine deletes them with the rest of the run's staging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakeguard.config import Settings
from lakeguard.contracts import load_contract
from lakeguard.pipeline.event import ObjectRef
from lakeguard.pipeline.handoff import staged_prefix
from lakeguard.pipeline.state import Clean, Refine, dataset_of
from lakeguard.s3io import read_parquet, write_partitions
from lakeguard.tables.spec import clean_schema
from lakeguard.transforms.refine import refine_table

if TYPE_CHECKING:
    import boto3


def refine(state: dict[str, Any], settings: Settings,
           session: boto3.session.Session | None = None) -> Refine:
    """Derive every refined table of the contract from the run's staged clean rows."""
    ref = ObjectRef.from_state(state)
    contract = load_contract(dataset_of(state))
    staged = Clean.read(state).outputs  # none when every row was refused or suppressed
    clean = read_parquet(staged, session) if staged else clean_schema(contract).empty_table()
    rows, outputs = {}, []
    for table in contract.refined:
        refined = refine_table(clean, table, contract)
        outputs += write_partitions(refined, settings.refined_bucket,
                                    staged_prefix(ref.run_id, table.table),
                                    table.partition_by, session)
        rows[table.table] = refined.num_rows
    return Refine(rows=rows, outputs=outputs)
