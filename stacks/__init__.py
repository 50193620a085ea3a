"""CDK stacks of lakeguard: storage, catalog, processing and orchestration."""
