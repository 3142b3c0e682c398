"""Models: the registry of known models (`registry`) and, under `tiny/`, the smoke models the project ships."""
