"""Thin Lambda handlers: each adapts an event to one call into ``lakeguard``."""
