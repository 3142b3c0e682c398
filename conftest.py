# The infill-bench pytest plugin (its options --infill-*, the benchmark case parametrization and the report). An
# installed infill-bench registers it through its pytest11 entry point under this same name; a checkout whose
# environment has not installed it loads it from here.
pytest_plugins = ["infill.pytest_plugin.plugin"]
