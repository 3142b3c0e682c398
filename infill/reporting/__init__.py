"""After grading: per-sample records (`records`), their aggregation (`summary`), the report's context and files
(`context`, `report`, `markdown`), analyses, regression gates, merging shard reports, comparing runs, provenance and
timing rows."""
