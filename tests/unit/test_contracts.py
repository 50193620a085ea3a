from pathlib import Path

import pytest

from lakeguard.contracts import contract_for_key, list_contracts, load_contract, parse_contract
from lakeguard.exceptions import ContractError, RoutingError

MATCHES = Path(__file__).resolve().parents[2] / "datasets" / "matches.toml"


def test_matches_contract_declares_refined_table_and_model():
    contract = load_contract("matches")
    assert "matches" in list_contracts()
    assert contract.refined_table("team_matches").partition_by == ("season",)
    assert contract.model is not None and contract.model.value == "num_goals_net"
    assert len(contract.digest) == 64


def test_keys_route_by_prefix_and_unclaimed_keys_say_which_prefixes_exist():
    assert contract_for_key("matches/1996-97_fr.1.csv").name == "matches"
    with pytest.raises(RoutingError, match="matches/"):
        contract_for_key("unknown/file.csv")


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (('type = "score"\ninto = ["home_goals", "away_goals"]', 'type = "score"'), "columns[2].into"),
        (('prefix = "matches/"', 'prefix = "matches"'), "raw.prefix"),
        (('policy = "keep"', 'policy = "publish"'), "columns[0].policy"),
        (('detector = "range_likelihood"', 'detector = "magic"'), "model.detector"),
        (('partition_by = ["season"]', 'partition_by = ["nope"]'), "partition_by"),
        (('columns = ["date", "home_team"]\non_conflict', 'columns = ["date", "team"]\non_conflict'),
         "natural_key.columns"),
        (('on_conflict = "skip"', 'on_conflict = "merge"'), "natural_key.on_conflict"),
    ],
)
def test_contract_errors_name_file_and_field(edit, field):
    # GIVEN the shipped contract with one mistake
    text = MATCHES.read_text().replace(*edit, 1)
    # WHEN it is parsed THEN the error names the file and the field
    with pytest.raises(ContractError) as caught:
        parse_contract(text, "datasets/broken.toml")
    assert "datasets/broken.toml" in str(caught.value)
    assert field in str(caught.value)


def test_invalid_toml_is_a_contract_error():
    with pytest.raises(ContractError, match="not valid TOML"):
        parse_contract("name = ", "datasets/x.toml")


def test_a_natural_key_names_clean_columns_and_what_a_repeat_does():
    key = load_contract("matches").natural_key
    assert key is not None
    assert key.columns == ("date", "home_team") and key.on_conflict == "skip"
    # a contract without one keeps duplicates-within-a-file checks only
    text = MATCHES.read_text().split("[natural_key]")[0]
    assert parse_contract(text, "datasets/m.toml").natural_key is None


def test_contract_derivation_names_are_the_implemented_ones():
    """The loader checks names against contracts.model, which must not import transforms."""
    from lakeguard.contracts.model import DERIVATION_NAMES
    from lakeguard.transforms.derive import FUNCTIONS

    assert set(DERIVATION_NAMES) == set(FUNCTIONS)


def test_replace_is_a_policy_but_not_where_k_is_counted_across_the_table():
    text = MATCHES.read_text().replace('on_conflict = "skip"', 'on_conflict = "replace"', 1)
    key = parse_contract(text, "datasets/m.toml").natural_key
    assert key is not None and key.on_conflict == "replace"
    # GIVEN a dataset whose classes must hold k people across the whole table
    absences = (Path(__file__).resolve().parents[2] / "datasets" / "absences.toml").read_text()
    keyed = absences + '\n[natural_key]\ncolumns = ["person_id", "month"]\non_conflict = "replace"\n'
    # WHEN it asks for replace THEN the contract is refused with the way out named
    with pytest.raises(ContractError, match=r"natural_key\.on_conflict.*k_scope = 'object'"):
        parse_contract(keyed, "datasets/a.toml")
