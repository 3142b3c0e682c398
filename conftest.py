# The infill-bench pytest plugin: its options (--infill-*), the benchmark case parametrization and the report.
pytest_plugins = ["infill.plugin"]
