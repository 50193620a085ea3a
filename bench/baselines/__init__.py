"""What teams usually write instead of lakeguard, as benchmark baselines."""
