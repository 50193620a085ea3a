"""Dataset contracts, one TOML file per dataset (read with ``lakeguard.contracts``)."""
