"""The pipeline's state machine: ``definition.py`` writes ``pipeline.asl.json``."""
