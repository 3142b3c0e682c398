"""Helpers every layer uses and that know nothing of benchmarks or models: statistics, atomic writes, number
formatting, JSON-able numbers."""
