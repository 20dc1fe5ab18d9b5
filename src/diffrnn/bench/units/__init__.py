"""Harness units, one module per model area, each registering with `register_unit`."""
