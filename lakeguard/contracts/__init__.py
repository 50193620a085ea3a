"""Dataset contracts: parse, validate and route."""

from __future__ import annotations

from lakeguard.contracts.loader import (
    contract_for_key,
    list_contracts,
    load_contract,
    load_contract_file,
    parse_contract,
)
from lakeguard.contracts.model import Column, Contract, ModelSpec, RefinedTable

__all__ = [
    "Column",
    "Contract",
    "ModelSpec",
    "RefinedTable",
    "contract_for_key",
    "list_contracts",
    "load_contract",
    "load_contract_file",
    "parse_contract",
]
