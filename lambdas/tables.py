"""Lambda handler of the tables custom resource (logic: lakeguard.tables.deploy)."""

from lakeguard.tables.deploy import handler

__all__ = ["handler"]
