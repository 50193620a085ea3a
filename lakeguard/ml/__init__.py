"""Anomaly detection: detectors, scoring and the model registry."""
