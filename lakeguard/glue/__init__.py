"""Spark side of the pipeline: the code Glue job scripts call (DataFrame in, DataFrame out)."""
