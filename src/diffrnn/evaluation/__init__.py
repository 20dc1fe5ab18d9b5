"""Metrics as pure tensor/array functions, timing, gradient diagnostics."""
