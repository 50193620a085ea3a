"""The shipped contracts on the real public files in ../shared/data (skipped when absent)."""

from pathlib import Path

import pyarrow.compute as pc
import pytest

from lakeguard.contracts import load_contract
from lakeguard.privacy.anonymise import anonymise
from lakeguard.privacy.pseudonym import PseudonymKey
from lakeguard.transforms.refine import refine_table

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
KEY = PseudonymKey("test", b"k" * 32)


def _read(relative):
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared data folder is optional)")
    return path.read_bytes()


def test_uci_absenteeism_is_anonymised_and_k_anonymous():
    data = _read("absenteeism/Absenteeism_at_work.csv")
    contract = load_contract("absenteeism")
    table, report = anonymise(data, contract, KEY)
    assert report.rows_in == 740 and report.k_achieved >= 5
    assert report.rows_out + report.rows_suppressed == 740
    assert {"weight", "height", "age", "bmi", "employee"}.isdisjoint(table.column_names)
    assert set(pc.unique(table["bmi_class"]).to_pylist()) <= {"0-18.5", "18.5-25", "25-30", "30+"}
    assert len(set(table["employee_id"].to_pylist())) <= 36
    by_reason = refine_table(table, contract.refined_table("absenteeism_by_reason"), contract)
    assert min(by_reason["absences"].to_pylist()) >= 5  # small cells suppressed


def test_telco_customers_blank_total_charges_become_nulls():
    data = _read("churn/Telco-Customer-Churn.csv")
    contract = load_contract("customers")
    table, report = anonymise(data, contract, KEY)
    assert report.rows_in == report.rows_out == 7043 and report.rows_rejected == 0
    assert table["total_charges"].null_count == 11
    assert "7590-VHVEG" not in table["customer_id"].to_pylist()
    churn = refine_table(table, contract.refined_table("churn_by_contract"), contract)
    assert sum(churn["customers"].to_pylist()) <= 7043
