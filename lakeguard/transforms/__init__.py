"""Transforms over Arrow batches: parse raw (``parse``), type (``typing``), derive and refine.

Import the submodule you need: each handler loads only its own (cold starts).
"""
