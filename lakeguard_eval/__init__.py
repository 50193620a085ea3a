"""lakeguard's evaluation tooling: the detectors measured on the Numenta Anomaly Benchmark.

Not part of the lake: nothing under ``lakeguard``, ``lambdas``, ``glue_jobs`` or ``stacks``
imports it, and neither the Lambda asset nor the Glue library ships it. It sits above the
runtime package and imports its detectors. ``nab`` is NAB's scoring method, ``benchmark``
runs the detectors on a NAB data folder, ``crossval`` cross-validates them, ``cli`` is the
``lakeguard-eval`` command.
"""
