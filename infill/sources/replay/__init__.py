"""Replay: grade generations recorded elsewhere (files.py reads and checks the formats; source.py serves them)."""
