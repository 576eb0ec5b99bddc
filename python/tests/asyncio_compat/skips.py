"""The tests of CPython's asyncio suites that run_suite.py skips on tfd.aio, each a white-box
test of the stock loop's internals, with the reason (docs/asyncio.md lists the same).

Keys: (module, test method, Python versions or None for all)."""

SKIPS = {}
