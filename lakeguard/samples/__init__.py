"""Realistic synthetic files for datasets whose real data cannot be shared."""
