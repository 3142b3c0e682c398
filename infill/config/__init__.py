"""A run's configuration: the options as data (`options`), their parsing into one frozen `RunConfig`
(`run_config`), the named profiles (`profiles`) and the generation settings a benchmark kind carries per profile
(`settings`, `live_settings`). Nothing here imports torch or pytest."""
