"""pytest as a thin adapter over infill.run: options (`options`), case parametrization and fixtures (`plugin`),
collection checks (`kinds`), the controller's report (`collector`), xdist scheduling (`scheduling`), one GPU per
worker (`devices`) and pytest-benchmark integration (`timings`). Registered through the `pytest11` entry point
`infill.pytest_plugin.plugin` (or a checkout's conftest.py)."""
